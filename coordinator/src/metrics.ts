// The coordinator's counters and gauges, served at `/metrics` in Prometheus' text format (what
// operators scrape without a client library).
export type Labels = Readonly<Record<string, string>>;

interface Family {
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly values: Map<string, number>;
  readonly read?: () => number;
}

export class Metrics {
  readonly #families = new Map<string, Family>();

  counter(name: string, help: string): void {
    this.#families.set(name, { help, type: 'counter', values: new Map() });
  }

  /** A gauge read when the metrics are rendered. */
  gauge(name: string, help: string, read: () => number): void {
    this.#families.set(name, { help, type: 'gauge', values: new Map(), read });
  }

  inc(name: string, labels: Labels = {}, by = 1): void {
    const family = this.#families.get(name);
    if (family === undefined) throw new Error(`unknown metric ${name}`);
    const key = formatLabels(labels);
    family.values.set(key, (family.values.get(key) ?? 0) + by);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.#families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      if (family.read !== undefined) lines.push(`${name} ${family.read()}`);
      for (const [labels, value] of family.values) lines.push(`${name}${labels} ${value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  const escaped = entries.map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return `{${escaped.join(',')}}`;
}

/** The coordinator's metrics, registered once. */
export function coordinatorMetrics(gauges: { connections: () => number; documents: () => number }): Metrics {
  const metrics = new Metrics();
  metrics.gauge('tandem_connections', 'Open sync connections.', gauges.connections);
  metrics.gauge('tandem_documents', 'Documents with a connection or a step in progress.', gauges.documents);
  metrics.counter('tandem_pushes_total', 'Pushes taken into a transaction.');
  metrics.counter('tandem_mutations_total', 'Mutations taken, by outcome (applied, rejected).');
  metrics.counter('tandem_pushes_refused_total', 'Pushes refused whole, by kind.');
  metrics.counter('tandem_frames_total', 'Frames committed.');
  metrics.counter('tandem_frame_bytes_total', 'Page bytes in committed frames.');
  metrics.counter('tandem_push_seconds_sum', 'Time from a push step starting to its frame being durable.');
  metrics.counter('tandem_push_seconds_count', 'Push steps timed.');
  metrics.counter('tandem_connection_errors_total', 'Connections closed with an error, by kind.');
  return metrics;
}
