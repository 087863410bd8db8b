/**
 * A port whose adapter is made on its first call (e.g. after importing the library it needs). Every
 * method of the port returns a promise; `methods` names them all, which the compiler checks.
 */
type AsyncPort<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

export function deferredPort<T extends AsyncPort<T>>(load: () => Promise<T>, methods: Record<keyof T, true>): T {
  const port: Record<string, unknown> = {};
  for (const name of Object.keys(methods)) {
    port[name] = async (...args: unknown[]) => {
      const adapter = (await load()) as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      return adapter[name]!(...args);
    };
  }
  return port as T;
}
