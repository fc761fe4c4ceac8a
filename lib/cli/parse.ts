/** Commander argument parsers: a bad value is a usage error naming the option (exit 2). */
import { InvalidArgumentError } from 'commander';

export function parseIsoDate(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError(
      'expected an ISO 8601 date, e.g. 2026-01-15 or 2026-01-15T12:00Z',
    );
  }
  return date;
}

export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError('expected a positive integer');
  }
  return number;
}

export function parseSeconds(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number > 300) {
    throw new InvalidArgumentError('expected whole seconds from 0 to 300');
  }
  return number;
}
