// zod compiles a parser for each object schema the first time it parses (with `new Function`): a few
// µs faster per parse afterwards (~6 µs instead of ~9 for a stored booking), paid for at the first
// request of every cold instance, once per schema. Here the compile costs more than it saves, so it is
// off; imported first by the modules that build the app, before any schema is made (the setting is
// read when a schema is constructed).
import * as z from 'zod';

z.config({ jitless: true });
