export async function f(x: { n: number }): Promise<number> { return x.n * 3; }
