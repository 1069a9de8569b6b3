export { enhanceFunction } from './enhance';
