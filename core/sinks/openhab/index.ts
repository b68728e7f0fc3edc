export * from './item-names';
export * from './state';
export * from './rest-client';
export * from './coalescer';
export * from './homie';
export * from './sink';
