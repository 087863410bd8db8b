/** The errors both GrantStores throw, worded once. */
import { ConflictError, NotFoundError } from '../../domain/errors.js';

export function missingRule(id: number): NotFoundError {
  return new NotFoundError(`Ingress rule record ${id} does not exist.`);
}

/** Why a versioned save of request `id` changed no row: the request is not there, or another save moved its version first. */
export function refusedSave(id: number, exists: boolean): NotFoundError | ConflictError {
  return exists ? new ConflictError(`#${id} was changed by someone else at the same time; try again.`) : new NotFoundError(`Request #${id} does not exist.`);
}
