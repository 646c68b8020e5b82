import type { Coordinator } from '../coordinator';

/** What every route handler gets from the server. */
export interface GatewayContext {
  coordinator: Coordinator;
  maxBodyBytes: number;
}
