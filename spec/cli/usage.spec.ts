import { expect } from 'chai';
import { cli } from './run.js';

describe('koa-jwtconnect usage and connection errors [real binary]', () => {
  it('exits 2 with one clear line when neither --uri nor MONGODB_URI is given', async () => {
    const { code, stdout, stderr } = await cli(['audit', 'verify']);
    expect(code).to.equal(2);
    expect(stdout).to.equal('');
    expect(stderr).to.equal(
      'error: no MongoDB connection string: pass --uri <uri> or set MONGODB_URI\n',
    );
  });

  it('exits 2 on an unsupported --alg, listing the supported ones', async () => {
    const { code, stderr } = await cli(['keys', 'generate', '--alg', 'none', '--out', '/nowhere']);
    expect(code).to.equal(2);
    expect(stderr).to.match(/^error: option '--alg <alg>' argument 'none' is invalid\./);
    expect(stderr).to.include('ES256');
  });

  it('exits 2 when audit history has none of --sub, --user, --sid, --jti', async () => {
    const { code, stderr } = await cli(['audit', 'history'], { MONGODB_URI: 'mongodb://x' });
    expect(code).to.equal(2);
    expect(stderr).to.equal('error: audit history needs one of --sub, --user, --sid or --jti\n');
  });

  it('exits 2 on an unreachable server without printing the password [--debug]', async () => {
    const uri = 'mongodb://auditor:pa%24%24word@127.0.0.1:9/ledger';
    const args = ['--uri', uri, '--connect-timeout', '200', '--debug', 'audit', 'verify'];
    const { code, stderr } = await cli(args);
    expect(code).to.equal(2);
    expect(stderr.split('\n')[0]).to.equal(
      'error: cannot open the ledger at mongodb://auditor:***@127.0.0.1:9/ledger: ' +
        'connect ECONNREFUSED 127.0.0.1:9',
    );
    expect(stderr).to.include('at withStore'); // --debug: the stack
    expect(stderr).to.not.match(/pa%24%24word|pa\$\$word/);
  });

  it('shows help for every command and exits 0', async () => {
    const { code, stdout } = await cli(['keys', 'generate', '--help']);
    expect(code).to.equal(0);
    expect(stdout).to.include('Usage: koa-jwtconnect keys generate [options]');
    expect(stdout).to.include('openssl req -x509 -new -key private.key -out public.cert');
  });
});
