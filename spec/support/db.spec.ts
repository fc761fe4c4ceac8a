import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { NoServerInUnitSetError, UNIT_SET_FLAG, testServerUri } from './db.js';
import { startTestServer } from './mongo-server.js';

use(chaiAsPromised);

describe('the test database guard of the unit set', () => {
  const URI = 'mongodb://127.0.0.1:27017/';

  it('refuses a server address in the unit set, even one the shell exported', () => {
    const env = { [UNIT_SET_FLAG]: '1', JWTCONNECT_TEST_MONGODB_URI: URI };
    expect(() => testServerUri(env))
      .to.throw(NoServerInUnitSetError)
      .with.property('message')
      .that.includes('npm run test:unit');
  });

  it("hands out the run's server address outside the unit set", () => {
    expect(testServerUri({ JWTCONNECT_TEST_MONGODB_URI: URI })).to.equal(URI);
  });

  it('says the fixture did not run when there is no server address', () => {
    expect(() => testServerUri({})).to.throw(/spec\/support\/fixtures\.ts/);
  });

  it('starts no server in the unit set, whatever MONGODB_URI says', async () => {
    const env = { [UNIT_SET_FLAG]: '1', MONGODB_URI: URI };
    await expect(startTestServer(env)).to.be.rejectedWith(NoServerInUnitSetError);
  });
});
