export * from './mapping';
export * from './discovery';
