import { Piscina } from 'piscina';
const base = { execArgv: ['--import', 'tsx'], atomics: 'disabled' as const, maxThreads: 1, minThreads: 0 };
for (const file of process.argv.slice(2)) {
  const pool = new Piscina({ ...base, filename: new URL(file, import.meta.url).href });
  try { console.log(file, await pool.run({ n: 2 }, { name: 'f' })); } catch (e) { console.log(file, 'ERR', (e as Error).message.slice(0, 80)); }
  await pool.destroy();
}
