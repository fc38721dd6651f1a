export { cacheKey, canonicalJson, ResponseCache, type ResponseCacheOptions } from './response-cache.ts';
