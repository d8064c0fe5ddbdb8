// The import command's Azure flags (registered in src/cli/main.ts).
import { usageError } from '../../errors.js';
import type { AuthMode } from './session.js';

export interface AzureImportFlags {
  /** `--server-side`: let ACR run the import (ARM importImage), as `az acr import` does. */
  serverSide?: boolean;
  /** `-g, --resource-group` of the target registry (server-side). */
  resourceGroup?: string;
  /** `--subscription` (else AZURE_SUBSCRIPTION_ID, else the Azure CLI default). */
  subscription?: string;
  /** `--source-auth-mode` / `--target-auth-mode`. */
  sourceAuthMode?: AuthMode;
  targetAuthMode?: AuthMode;
  /** `--lock`: make the imported manifests read-only (ACR targets only). */
  lock?: boolean;
}

export function wholeNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag} must be a whole number of at least 1, not '${value}'.`);
  return n;
}
