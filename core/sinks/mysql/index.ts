export * from './config';
export * from './rows';
export * from './errors';
export * from './schema';
export * from './batcher';
export * from './spool';
export * from './writer';
export { openPool, type SqlRunner, type PoolOptions } from './db';
export * from './sink';
