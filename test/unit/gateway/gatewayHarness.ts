import { Coordinator } from '../../../src/core/coordinator';
import { GatewayServer, type GatewayOptions } from '../../../src/core/gateway/gatewayServer';
import { startFakeCluster, type FakeCluster } from '../../fakes/fakeCluster';

export interface GatewayHarness {
  cluster: FakeCluster;
  coordinator: Coordinator;
  gateway: GatewayServer;
  url: string;
  stop(): Promise<void>;
}

/** A fake cluster, a coordinator over it (swept once), and the gateway on 127.0.0.1:0. */
export async function startGateway(
  specs: Parameters<typeof startFakeCluster>[0],
  cluster: Parameters<typeof startFakeCluster>[1] = {},
  gatewayOptions: Partial<GatewayOptions> = {},
): Promise<GatewayHarness> {
  const fake = await startFakeCluster(specs, {
    timeouts: { connect: 1, stall: 0.5 },
    // A healthy fake answers /health in milliseconds; 0.5 s was crossed once at load 20 on 2 cores,
    // and the first sweep then left every node out. No gateway test waits for a probe to time out.
    health: { timeout: 5, interval: 60 },
    circuit_breaker: { timeout: 0.3, half_open_timeout: 2 },
    ...cluster,
  });
  const coordinator = new Coordinator({ config: fake.config });
  await coordinator.prober.sweep();
  const gateway = new GatewayServer({ coordinator, host: '127.0.0.1', port: 0, ...gatewayOptions });
  const url = await gateway.listen();
  return {
    cluster: fake,
    coordinator,
    gateway,
    url,
    stop: async () => {
      await gateway.close();
      coordinator.dispose();
      await fake.stop();
    },
  };
}
