/**
 * Provider endpoints that change what a server holds rather than answer a prompt: pulling, pushing,
 * creating, copying or deleting models. Forward mode never passes them on unless told to: a local
 * Ollama daemon has no authentication and trusts loopback, and the proxy (which rewrites Host) would
 * otherwise hand its model store to anyone who can reach the proxy.
 */

const OLLAMA_MANAGEMENT = new Set(['/api/delete', '/api/pull', '/api/push', '/api/create', '/api/copy']);

export function isModelManagement(method: string, pathname: string): boolean {
  if (OLLAMA_MANAGEMENT.has(pathname) || pathname.startsWith('/api/blobs/')) return true;
  // OpenAI: deleting a fine-tuned model.
  return method === 'DELETE' && pathname.startsWith('/v1/models/');
}
