/** The line prefix the diagnostic preload prints its command counts under (read by bench/support/mongo-commands.ts). */
export const mongoCommandsReportPrefix = 'BENCH_MONGO_COMMANDS ';
