// Every relative link of every README in the repository leads to a file the repository holds (tracked
// by git, so a file only this machine has does not count), never outside it, and a link's `#anchor`
// to a heading that exists (GitHub's slugs).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const tracked = execFileSync('git', ['ls-files'], { cwd: REPO_ROOT, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);
const files = new Set(tracked);
const folders = new Set(
  tracked.flatMap((f) =>
    f
      .split('/')
      .slice(0, -1)
      .map((_, i, parts) => parts.slice(0, i + 1).join('/')),
  ),
);
const readmes = tracked.filter((f) => /(^|\/)README\.md$/.test(f));

/** The markdown without its fenced code blocks and code spans (links there are not links). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)].map((m) => slug(m[1]!)));
}

/** What is wrong with the relative links of `readme` (its path in the repository) holding `text`. */
function brokenLinks(readme: string, text: string): { broken: string[]; checked: number } {
  const broken: string[] = [];
  let checked = 0;
  for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // http:, https:, mailto:
    checked++;
    const [path = '', anchor] = target!.split('#');
    const resolved = path === '' ? readme : normalize(join(dirname(readme), decodeURIComponent(path)));
    const clean = resolved.replace(/\/$/, '');
    if (relative('.', resolved).startsWith('..')) broken.push(`${readme}: ${target} leaves the repository`);
    else if (!files.has(clean) && !folders.has(clean))
      broken.push(`${readme}: ${target} is not in the repository`);
    else if (anchor !== undefined && clean.endsWith('.md') && !anchorsOf(clean).has(anchor)) {
      broken.push(`${readme}: ${target} names no heading of ${clean}`);
    }
  }
  return { broken, checked };
}

test('the check finds a missing file, a link out of the repository and a missing anchor, and passes good links', () => {
  const text = [
    '[ok](runtime/README.md), [folder](reducers/todo/), [anchor](#known-pitfalls), [web](https://example.com)',
    '[gone](docs/nowhere.md), [out](../shared/notes/TOOLCHAIN.md), [bad anchor](runtime/README.md#no-such-heading)',
    '`[in a code span](missing.md)`',
  ].join('\n');
  expect(brokenLinks('README.md', text)).toEqual({
    broken: [
      'README.md: docs/nowhere.md is not in the repository',
      'README.md: ../shared/notes/TOOLCHAIN.md leaves the repository',
      'README.md: runtime/README.md#no-such-heading names no heading of runtime/README.md',
    ],
    checked: 6,
  });
});

test('every relative link of every README leads to a file or folder of the repository, and its anchor to a heading', () => {
  expect(readmes).toContain('README.md');
  expect(readmes).toContain('reducer-sdk/README.md');
  let checked = 0;
  const broken: string[] = [];
  for (const readme of readmes) {
    const result = brokenLinks(readme, readFileSync(join(REPO_ROOT, readme), 'utf8'));
    checked += result.checked;
    broken.push(...result.broken);
  }
  expect(broken).toEqual([]);
  expect(checked).toBeGreaterThan(10);
});
