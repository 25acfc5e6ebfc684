// Package auth holds the credential primitives of the onboarding service:
//
//   - argon2id password hashing behind a bounded worker pool ([Hasher]),
//   - the password policy ([Policy]) with its embedded list of common
//     passwords ([IsCommon]),
//   - opaque random tokens for e-mail confirmation and password reset links
//     ([NewToken], [HashToken], [WellFormedToken]).
//
// The package keeps no mutable package-level state; the embedded list of
// common passwords is parsed once, on first use, into an immutable set.
//
// The list of common passwords (common-passwords.txt) comes from the
// zxcvbn-ts project and is distributed under the MIT licence reproduced in
// common-passwords.LICENSE.
package auth
