/**
 * Base64 for bytes that travel as text: the presets and wasm binaries built into the package, and the
 * replay memory's pixel crops. Uses `atob`/`btoa`, which browsers, workers and Node 16+ all have.
 */
import { SimpleIRError } from './errors.js';

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // In blocks: String.fromCharCode takes its bytes as arguments, and engines limit their count.
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * Bytes of standard base64 text. `what` names the text in the error (e.g. `'replay memory'`).
 * @throws SimpleIRError `INVALID_ARGUMENT` on text that is not base64.
 */
export function fromBase64(text: string, what = 'base64 text'): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    throw new SimpleIRError('INVALID_ARGUMENT', `The ${what} is not valid base64 (characters outside A-Z, a-z, 0-9, +, / and = padding, or a wrong length).`);
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
