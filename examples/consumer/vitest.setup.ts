// Adds toMatchGolden and toBeWithinBound to expect, with their types (this file is in tsconfig).
import 'gradparity/vitest';
