// Opens the document named by `?doc=` (default "todos") with the reducer the coordinator serves, syncing
// with the coordinator that served this page, and renders the app over it.
import 'todomvc-app-css/index.css';
import './app.css';
import { openDocument, type TandemDocument } from '@tandem/host-browser';
import { TandemProvider } from '@tandem/host-browser/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { TodoApp } from './todo-app.js';

const DEFAULT_DOC = 'todos';

/** The reducer the coordinator runs: its hash and the URL it is served at. */
interface CurrentReducer {
  readonly sha256: string;
  readonly url: string;
}

async function currentReducer(): Promise<CurrentReducer> {
  const response = await fetch('/reducers/current', { cache: 'no-store' });
  if (!response.ok) throw new Error(`GET /reducers/current answered HTTP ${response.status}`);
  const body: unknown = await response.json();
  if (
    typeof body !== 'object' ||
    body === null ||
    !('url' in body) ||
    typeof body.url !== 'string' ||
    !('sha256' in body) ||
    typeof body.sha256 !== 'string'
  ) {
    throw new Error('GET /reducers/current did not answer {"sha256", "url"}');
  }
  return { sha256: body.sha256, url: body.url };
}

async function open(): Promise<TandemDocument> {
  const docId = new URLSearchParams(window.location.search).get('doc') || DEFAULT_DOC;
  const reducer = await currentReducer();
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return openDocument({
    docId,
    reducer: new URL(reducer.url, window.location.href),
    coordinatorUrl: `${scheme}//${window.location.host}/sync`,
  });
}

const root = createRoot(document.getElementById('root') as HTMLElement);
root.render(<p className="opening">Opening…</p>);
open().then(
  (doc) => {
    window.document.title = `${doc.docId} • Tandem TodoMVC`;
    root.render(
      <StrictMode>
        <TandemProvider document={doc}>
          <TodoApp />
        </TandemProvider>
      </StrictMode>,
    );
  },
  (error: unknown) => {
    console.error(error);
    root.render(
      <p className="open-failed" role="alert" data-testid="open-error">
        The document could not be opened: {error instanceof Error ? error.message : String(error)}
      </p>,
    );
  },
);
