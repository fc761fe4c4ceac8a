/**
 * The one contract suite every `LedgerStore` passes, run on the memory store and on the real server
 * alike, in parts: events (contract-events.ts), projection documents (contract-states.ts), the
 * `Ledger` on top of the store (contract-ledger.ts), audit and integrity (contract-audit.ts),
 * user-level views (contract-sessions.ts), tamper evidence (contract-tamper.ts), data keys of
 * personal data (contract-data-keys.ts), checkpoints and archives (contract-checkpoints.ts), archive
 * runs racing writers (contract-archive.ts) and each other (contract-archive-race.ts).
 *
 * `makeStore` returns a new, empty, unopened store; the suite opens it. Most tests share one store
 * and keep apart by using fresh random stream ids; tests that read the whole store get their own.
 */
import { auditContract } from './contract-audit.js';
import { archiveContract } from './contract-archive.js';
import { archiveRaceContract } from './contract-archive-race.js';
import { checkpointsContract } from './contract-checkpoints.js';
import { dataKeysContract } from './contract-data-keys.js';
import { eventsContract } from './contract-events.js';
import { ledgerContract } from './contract-ledger.js';
import { sessionsContract } from './contract-sessions.js';
import { statesContract } from './contract-states.js';
import { tamperContract } from './contract-tamper.js';
import type { DisposableStore, ContractContext } from './support.js';

export type { ContractContext, DisposableStore } from './support.js';

export function storeContract(name: string, makeStore: () => Promise<DisposableStore>): void {
  describe(`store contract [${name}]`, () => {
    let shared: DisposableStore;
    before(async () => {
      shared = await makeStore();
      await shared.store.open();
    });
    after(async () => {
      await shared.dispose();
    });

    const open = async () => {
      const own = await makeStore();
      await own.store.open();
      return own;
    };
    const context: ContractContext = {
      store: () => shared.store,
      open,
      fresh: async (use) => {
        const own = await open();
        try {
          return await use(own.store);
        } finally {
          await own.dispose();
        }
      },
    };

    eventsContract(context);
    statesContract(context);
    ledgerContract(context);
    auditContract(context);
    checkpointsContract(context);
    archiveContract(context);
    archiveRaceContract(context);
    tamperContract(context);
    sessionsContract(context);
    dataKeysContract(context);
  });
}
