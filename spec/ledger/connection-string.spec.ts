import { expect } from 'chai';
import { maskPasswords, maskUserInfo } from '../../lib/ledger/connection-string.js';

describe('ledger/connection-string', () => {
  const uri = 'mongodb://auditor:p%40ss@db.example.org/ledger';

  it('masks the password of every connection string in a text, keeping the user name', () => {
    const text = `cannot reach ${uri} nor mongodb+srv://ops:hunter2@x.example.org`;
    expect(maskPasswords(text)).to.equal(
      'cannot reach mongodb://auditor:***@db.example.org/ledger nor mongodb+srv://ops:***@x.example.org',
    );
  });

  it('masks the password of the given URI wherever a message quotes it, as written or decoded', () => {
    expect(maskPasswords('auth failed for p@ss (p%40ss)', uri)).to.equal(
      'auth failed for *** (***)',
    );
  });

  it('masks the user name and the password of a URI, as written and decoded', () => {
    const message = `bad URI ${uri}: user auditor, password p@ss`;
    const masked = maskUserInfo(message, uri);
    expect(masked).to.not.match(/auditor|p@ss|p%40ss/);
    expect(masked).to.include('db.example.org/ledger');
  });

  it('leaves a text alone when the URI has no user information', () => {
    expect(maskUserInfo('nothing to hide', 'mongodb://db.example.org')).to.equal('nothing to hide');
  });

  it('keeps a password that is not valid percent-encoding as written', () => {
    const odd = 'mongodb://u:100%zz@h/db';
    expect(maskPasswords('failed with 100%zz', odd)).to.equal('failed with ***');
  });
});
