import { InvalidArgumentError } from 'commander';

/** A whole number in [min, max], for commander's argument parsers. */
export function integerOption(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('Not a whole number.');
    const parsed = Number(value);
    if (parsed < min || parsed > max) {
      throw new InvalidArgumentError(`Must be between ${min} and ${max}.`);
    }
    return parsed;
  };
}

export function numberOption(value: string): number {
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed))
    throw new InvalidArgumentError('Not a number.');
  return parsed;
}
