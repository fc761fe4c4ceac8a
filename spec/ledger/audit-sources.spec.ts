/**
 * Point-in-time audit answers come from the log alone: `sessionAt` and `tokenAt` agree on a session
 * the projection does not hold (its projection write failed), and `sessionAt` takes the subject from
 * the session's own events, never from a projection document.
 */
import { expect } from 'chai';
import { MemoryStore } from '../../lib/ledger/index.js';
import { ALICE, testPlugin } from '../support/plugin.js';
import { saveStateFailsOnceArmed, SimulatedCrash } from './wrappers.js';
import './expect.js';

describe('audit answers from the log [memory]', () => {
  it('answers sessionAt like tokenAt for a session whose projection write failed', async () => {
    const failing = saveStateFailsOnceArmed(new MemoryStore());
    const { auth, clock } = await testPlugin(null, { store: { custom: failing.store } });
    try {
      failing.arm();
      await expect(auth.issue(ALICE, { source: 'saml' })).to.be.rejectedWith(SimulatedCrash);
      const [issued] = (await auth.audit.history({ sub: auth.subjectOf(ALICE) })).events;
      expect(issued?.type).to.equal('issued');
      const at = new Date(clock());
      const token = await auth.audit.tokenAt(issued!.jtis[0]!, at);
      const session = await auth.audit.sessionAt(issued!.stream, at);
      expect(token.status).to.equal('active');
      expect(session.status).to.equal('active');
      expect(session.session?.sub).to.equal(issued!.sub);

      await auth.revoke({ sub: issued!.sub }, { reason: 'compromised' });
      const later = new Date(clock());
      expect((await auth.audit.sessionAt(issued!.stream, later)).status).to.equal('revoked');
    } finally {
      await auth.close();
    }
  });
});
