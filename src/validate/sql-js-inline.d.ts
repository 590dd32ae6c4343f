/** Types for sql.js's inline build (the .wasm embedded in the JS); same API as the package main. */
declare module 'sql.js/dist/sql-wasm-inline.js' {
  const initSqlJs: import('sql.js').InitSqlJsStatic;
  export default initSqlJs;
}
