/**
 * chai with chai-as-promised, so failures are asserted as `rejectedWith(ErrorClass)` and on `code`.
 */
import * as chai from 'chai';
import chaiAsPromised from 'chai-as-promised';

chai.use(chaiAsPromised);

export const { expect } = chai;
