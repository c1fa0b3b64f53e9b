// Test-only preload (`node --import ./loopback-only.mjs ...`): a server that listens on a
// port without naming a host (server-everything's streamableHttp mode calls
// `app.listen(process.env.PORT)`, i.e. all interfaces) binds 127.0.0.1 instead.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const port = args[0];
  if (typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  } else if (port && typeof port === 'object' && port.path === undefined &&
             port.host === undefined) {
    args[0] = { ...port, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
