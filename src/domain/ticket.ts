/** A ticket reference found in a request's reason, and where to read it. Pure. */

export interface Ticket {
  /** The text the policy's reasonPattern matched, e.g. OPS-1234. */
  id: string;
  /** The policy's reasonLink with the ticket put in; absent without reasonLink. */
  url?: string;
}

/** What a reasonLink template holds where the ticket goes. */
export const TICKET_PLACEHOLDER = '{0}';

/** The first match of `pattern` (a regular expression's source) in `reason`, linked when a template is given. */
export function findTicket(reason: string, pattern: string, linkTemplate?: string): Ticket | undefined {
  const id = new RegExp(pattern).exec(reason)?.[0];
  if (id === undefined || id === '') return undefined;
  return linkTemplate === undefined ? { id } : { id, url: ticketUrl(linkTemplate, id) };
}

/** The template with every {0} replaced by the URL-encoded ticket, so the ticket cannot change the URL's shape. */
export function ticketUrl(template: string, id: string): string {
  return template.replaceAll(TICKET_PLACEHOLDER, encodeURIComponent(id));
}
