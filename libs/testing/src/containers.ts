import { type Backend, loadTestcontainers } from "./backend";

export interface ContainerSpec {
  image: string;
  command: string[];
  containerPort: number;
  scheme: string;
  ready: RegExp;
}

/** Starts `spec` with testcontainers; Ryuk removes the container if this process dies first. */
export async function startContainer(spec: ContainerSpec, why: string): Promise<Backend> {
  const { GenericContainer, Wait } = loadTestcontainers();
  const container = await new GenericContainer(spec.image)
    .withCommand(spec.command)
    .withExposedPorts(spec.containerPort)
    .withWaitStrategy(Wait.forLogMessage(spec.ready))
    .withStartupTimeout(60_000)
    .start();
  const host = container.getHost();
  const port = container.getMappedPort(spec.containerPort);
  let stopping: Promise<void> | undefined;
  return {
    url: `${spec.scheme}://${host}:${port}`,
    host,
    port,
    via: "testcontainers",
    why,
    version: spec.image,
    stop: () =>
      (stopping ??= (async () => {
        await container.stop();
      })()),
  };
}
