// One socket of a SyncClient, wired (its invariants C1, C2, C4): events reach the client only while the
// socket's session is its current one, messages in arrival order, and the timers that keep a dead
// connection from holding the client.
//
// Invariants:
// K1. A socket that never opens, or opens and is not welcomed, is dropped after 3 heartbeat intervals
//     (a coordinator gone quiet, an address nothing answers at: the platform gives up only minutes later).
// K2. Once open: the hello first, then a ping every interval; a connection silent for 3 intervals is
//     dropped.
// K3. Messages are handled strictly in arrival order, each after the previous one's awaits; what one
//     throws ends the session (`abort`), and nothing escapes into a socket callback.
// K4. A close or an error of the socket drops its session.
import type { encodeMessage } from '../protocol/codec.js';
import { Session } from './session.js';
import type { WebSocketLike } from './sync-target.js';

/** What the client does with its socket's events. */
export interface ConnectionHandlers {
  /** The session is still the client's current one (C1). */
  isCurrent(session: Session): boolean;
  /** The socket opened: the hello. */
  opened(session: Session): void;
  receive(session: Session, data: unknown): Promise<void>;
  send(session: Session, message: Parameters<typeof encodeMessage>[0]): void;
  /** Ends the session for what its handling threw (C4). */
  abort(session: Session, error: unknown): void;
  /** Ends the session, saying why. */
  drop(session: Session, reason: string): void;
}

/** A session for `socket`, its events wired to `on` (K1–K4). */
export function openSession(socket: WebSocketLike, heartbeatMs: number, on: ConnectionHandlers): Session {
  const session = new Session(socket);
  const guard = (act: () => void): void => {
    if (!on.isCurrent(session)) return;
    try {
      act();
    } catch (error) {
      on.abort(session, error);
    }
  };
  session.handshake = setTimeout(() => on.drop(session, 'no connection in time'), 3 * heartbeatMs);
  socket.addEventListener('open', () =>
    guard(() => {
      session.lastHeard = Date.now();
      on.opened(session);
      clearTimeout(session.handshake);
      session.handshake = setTimeout(() => on.drop(session, 'no welcome in time'), 3 * heartbeatMs);
      session.heartbeat = setInterval(() => {
        guard(() => {
          if (Date.now() - session.lastHeard > 3 * heartbeatMs) on.drop(session, 'heartbeat timed out');
          else on.send(session, { type: 'ping', id: session.pingId++ % 2 ** 31 });
        });
      }, heartbeatMs);
    }),
  );
  socket.addEventListener('message', (event) => {
    if (!on.isCurrent(session)) return;
    session.lastHeard = Date.now();
    const data = event.data;
    session.unread++;
    session.inbox = session.inbox
      .then(() => {
        session.unread--;
        return on.receive(session, data);
      })
      .catch((error: unknown) => on.abort(session, error));
  });
  const closed = (): void => on.drop(session, 'the socket closed');
  socket.addEventListener('close', closed);
  socket.addEventListener('error', closed);
  return session;
}
