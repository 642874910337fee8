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

export interface CoordinatorGauges {
  readonly connections: () => number;
  readonly documents: () => number;
  /** Documents open in the workers (connected or not yet closed as idle). */
  readonly openDocuments: () => number;
  /** The process's resident memory in bytes. */
  readonly residentBytes: () => number;
}

/**
 * The coordinator's metrics, registered once. Each event the log reports at warn or error has a
 * counter here (log.ts): an operator alerting on counters and one reading the log see the same events.
 */
export function coordinatorMetrics(gauges: CoordinatorGauges): Metrics {
  const metrics = new Metrics();
  const started = Math.floor(Date.now() / 1000);
  metrics.gauge('tandem_connections', 'Open sync connections.', gauges.connections);
  metrics.gauge('tandem_documents', 'Documents with a connection or a step in progress.', gauges.documents);
  metrics.gauge('tandem_open_documents', 'Documents open in the document workers.', gauges.openDocuments);
  metrics.gauge('tandem_resident_bytes', 'Resident memory of the coordinator process.', gauges.residentBytes);
  metrics.gauge('tandem_start_time_seconds', 'When the coordinator started (Unix time).', () => started);
  metrics.counter('tandem_pushes_total', 'Pushes taken into a transaction.');
  metrics.counter('tandem_mutations_total', 'Mutations taken, by outcome (applied, rejected).');
  metrics.counter('tandem_pushes_refused_total', 'Pushes refused whole, by kind.');
  metrics.counter('tandem_frames_total', 'Frames committed.');
  metrics.counter('tandem_frame_bytes_total', 'Page bytes in committed frames.');
  metrics.counter('tandem_push_seconds_sum', 'Time from a push step starting to its frame being durable.');
  metrics.counter('tandem_push_seconds_count', 'Push steps timed.');
  metrics.counter('tandem_connection_errors_total', 'Connections closed with an error, by kind.');
  metrics.counter('tandem_connections_closed_total', 'Connections closed, by close code.');
  metrics.counter('tandem_document_failures_total', 'Document steps that failed (members dropped), by kind.');
  metrics.counter(
    'tandem_documents_closed_total',
    'Documents closed in their worker, by reason (idle, capacity).',
  );
  metrics.counter('tandem_document_close_failures_total', 'Documents whose close failed in their worker.');
  metrics.counter('tandem_http_errors_total', 'HTTP requests that failed inside the coordinator.');
  metrics.counter(
    'tandem_migration_failures_total',
    'Documents whose migrate to the current reducer failed when they opened (each stays on its reducer).',
  );
  metrics.counter(
    'tandem_document_migrations_total',
    'Documents a migrate-all request went through, by outcome (migrated, current, failed).',
  );
  metrics.counter(
    'tandem_reducer_deploys_total',
    'Reducer deploys, by outcome (deployed, current, or the refusal kind).',
  );
  metrics.counter('tandem_leases_taken_total', 'Document leases this coordinator took (PostgreSQL store).');
  metrics.counter(
    'tandem_redirects_total',
    'Hellos for a document another coordinator owns, answered with a redirect to it.',
  );
  metrics.counter('tandem_leases_renewed_total', 'Document leases renewed (one per lease per renewal).');
  metrics.counter(
    'tandem_leases_lost_total',
    "Document leases lost (not found by a renewal, or unconfirmed for a lease by the owner's clock): the document stopped being served here.",
  );
  metrics.counter(
    'tandem_lease_release_failures_total',
    'Leases whose release failed when their document closed (each runs out within the lease time).',
  );
  metrics.counter(
    'tandem_reducers_adopted_total',
    'Reducers deployed by another coordinator of the store and taken up here.',
  );
  metrics.counter(
    'tandem_reducer_check_failures_total',
    "Timed reads of the store's current reducer that failed (PostgreSQL unreachable); the next one tries again.",
  );
  return metrics;
}
