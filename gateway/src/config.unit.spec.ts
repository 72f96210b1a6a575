// Proves how the gateway learns which services /readyz checks: the named addresses, plus any listed
// in GATEWAY_EXTRA_DOWNSTREAMS (how the runner announces a service the gateway has no routes for yet).
import { ConfigurationError } from '@sizhong/kit';
import { downstreamAddresses, loadGatewayConfig } from './config';

describe('downstream addresses', () => {
  it('checks the configured services and the extra ones by name', () => {
    const config = loadGatewayConfig({ ESCROW_GRPC_ADDRESS: '127.0.0.1:50051', GATEWAY_EXTRA_DOWNSTREAMS: 'notices=127.0.0.1:50060,audit-trail=[::1]:50061' });
    expect(downstreamAddresses(config)).toEqual({ escrow: '127.0.0.1:50051', notices: '127.0.0.1:50060', 'audit-trail': '[::1]:50061' });
  });

  it('checks nothing downstream when nothing is configured', () => {
    expect(downstreamAddresses(loadGatewayConfig({}))).toEqual({});
  });

  it.each(['notices', 'notices=', 'Notices=127.0.0.1:1', 'notices=127.0.0.1:1,', 'notices=127.0.0.1'])('refuses the malformed list %p', (value) => {
    expect(() => loadGatewayConfig({ GATEWAY_EXTRA_DOWNSTREAMS: value })).toThrow(ConfigurationError);
  });
});
