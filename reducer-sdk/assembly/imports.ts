// The world's imports, by their legacy core names (wit-component's `module = interface@version`,
// `name = function`). Biome cannot parse `@external` on a function, so this file is excluded from it
// (reducer-sdk/biome.json); keep it to declarations.

// @ts-ignore: decorator
@external('tandem:reducer/sql@0.2.0', 'execute')
declare function sqlExecute(sql: usize, sqlLen: usize, params: usize, paramsLen: usize, ret: usize): void;

// @ts-ignore: decorator
@external('tandem:reducer/sql@0.2.0', 'execute-batch')
declare function sqlExecuteBatch(sql: usize, sqlLen: usize, rows: usize, rowsLen: usize, ret: usize): void;

// @ts-ignore: decorator
@external('tandem:reducer/sql@0.2.0', 'query')
declare function sqlQuery(sql: usize, sqlLen: usize, params: usize, paramsLen: usize, ret: usize): void;

// @ts-ignore: decorator
@external('tandem:reducer/env@0.2.0', 'log')
declare function envLog(level: u32, message: usize, messageLen: usize): void;

// @ts-ignore: decorator
@external('tandem:reducer/env@0.2.0', 'enter')
declare function envEnter(index: u32): void;

// @ts-ignore: decorator
@external('tandem:reducer/env@0.2.0', 'now')
declare function envNow(): u64;

// @ts-ignore: decorator
@external('tandem:reducer/env@0.2.0', 'random')
declare function envRandom(): u64;

export { envEnter, envLog, envNow, envRandom, sqlExecute, sqlExecuteBatch, sqlQuery };
