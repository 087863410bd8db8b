/** Reading a request's history by kind. */
import type { EventKind, HistoryEvent } from './ports.js';

/** An event of kind K as read back, with that kind's payload. */
export type RecordedEvent<K extends EventKind> = Extract<HistoryEvent, { type: K }>;

/** Whether `event` is of kind K; narrows it to that kind's payload (a kind another version wrote is none of ours). */
export function isEvent<K extends EventKind>(event: HistoryEvent, kind: K): event is RecordedEvent<K> {
  return event.type === kind;
}
