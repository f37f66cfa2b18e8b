// Two test servers started side by side. When one fails to start, the other is stopped before the
// error goes on: a failed setup must not leave a database server running after the test run.
interface Stoppable {
  stop(): Promise<void>;
}

export async function startBoth<A extends Stoppable, B extends Stoppable>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  await Promise.allSettled([ra, rb].map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
  throw ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason;
}
