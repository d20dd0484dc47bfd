//! Decimal text to `f64`, correctly rounded (ties to even), exactly as `str::parse::<f64>` reads it, for
//! the finite values the rules compare.
//!
//! Why not `str::parse`: its tables and slow paths are the largest single item of the widget's first
//! module (about 17 KB of WebAssembly). Here the common case (at most 15 digits, a power of ten up to
//! 22) is one exact IEEE operation, and every other case is exact integer arithmetic on small bignums:
//! slower, but context values are short. `tests` compares both with `str::parse` on edge cases and on
//! 300,000 generated inputs.

/// The text as a finite number, or `None` for anything `str::parse::<f64>` refuses, infinities, NaN and
/// values too large for an `f64`.
pub fn parse_finite(text: &str) -> Option<f64> {
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, bytes.get(1..)?),
        Some(b'+') => (false, bytes.get(1..)?),
        _ => (false, bytes),
    };
    let mut digits: Vec<u8> = Vec::new();
    let mut index = 0;
    // Significant digits (leading zeros dropped) of the integer part, then of the fraction, whose every
    // digit lowers the exponent.
    let read_digits = |index: &mut usize, digits: &mut Vec<u8>| {
        let start = *index;
        while let Some(&byte) = rest.get(*index).filter(|byte| byte.is_ascii_digit()) {
            if !(digits.is_empty() && byte == b'0') {
                digits.push(byte - b'0');
            }
            *index += 1;
        }
        *index - start
    };
    let mut seen_digit = read_digits(&mut index, &mut digits) > 0;
    let mut exponent: i64 = 0;
    if rest.get(index) == Some(&b'.') {
        index += 1;
        let fraction = read_digits(&mut index, &mut digits);
        seen_digit |= fraction > 0;
        exponent -= fraction as i64;
    }
    if !seen_digit {
        return None;
    }
    if matches!(rest.get(index), Some(b'e' | b'E')) {
        index += 1;
        let exponent_negative = match rest.get(index) {
            Some(b'-') => {
                index += 1;
                true
            }
            Some(b'+') => {
                index += 1;
                false
            }
            _ => false,
        };
        let mut written: i64 = 0;
        let start = index;
        while let Some(&byte) = rest.get(index) {
            if !byte.is_ascii_digit() {
                break;
            }
            // Far beyond any finite f64 either way: the value is settled, the digits need not be.
            written = (written * 10 + i64::from(byte - b'0')).min(1_000_000);
            index += 1;
        }
        if index == start {
            return None;
        }
        exponent += if exponent_negative { -written } else { written };
    }
    if index != rest.len() {
        return None;
    }
    // Trailing zeros of the digits move into the exponent.
    while digits.last() == Some(&0) {
        digits.pop();
        exponent += 1;
    }
    let magnitude = magnitude(&digits, exponent)?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Powers of ten that an `f64` holds exactly.
const EXACT_POWERS: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `digits × 10^exponent`, where `digits` has no leading or trailing zeros.
fn magnitude(digits: &[u8], exponent: i64) -> Option<f64> {
    if digits.is_empty() {
        return Some(0.0);
    }
    // The value lies in [10^(order - 1), 10^order).
    let order = exponent + digits.len() as i64;
    if order > 310 {
        return None;
    }
    if order < -330 {
        return Some(0.0);
    }
    if digits.len() <= 15 {
        let mantissa = digits.iter().fold(0u64, |n, &d| n * 10 + u64::from(d)) as f64;
        let power = EXACT_POWERS.get(exponent.unsigned_abs() as usize);
        // One exact operand each, so one correctly rounded operation.
        match (exponent >= 0, power) {
            (true, Some(power)) => return finite(mantissa * power),
            (false, Some(power)) => return Some(mantissa / power),
            _ => {}
        }
    }
    slow(digits, exponent)
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// An unsigned integer of any size, little-endian 32-bit limbs, no high zero limbs.
#[derive(Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_digits(digits: &[u8]) -> Big {
        let mut big = Big(Vec::new());
        for &digit in digits {
            big.multiply_add(10, u32::from(digit));
        }
        big
    }

    fn multiply_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let product = u64::from(*limb) * u64::from(factor) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn multiply_by_power_of_ten(&mut self, mut power: u64) {
        while power > 0 {
            let step = power.min(9);
            self.multiply_add(10u32.pow(step as u32), 0);
            power -= step;
        }
    }

    fn bits(&self) -> u64 {
        self.0.last().map_or(0, |top| {
            (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros())
        })
    }

    fn shifted_left(&self, shift: u64) -> Big {
        let limbs = (shift / 32) as usize;
        let bits = (shift % 32) as u32;
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &limb in &self.0 {
            if bits == 0 {
                out.push(limb);
            } else {
                out.push((limb << bits) | carry);
                carry = limb >> (32 - bits);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        Big(out)
    }

    fn at_least(&self, other: &Big) -> bool {
        if self.0.len() != other.0.len() {
            return self.0.len() > other.0.len();
        }
        for (mine, theirs) in self.0.iter().rev().zip(other.0.iter().rev()) {
            if mine != theirs {
                return mine > theirs;
            }
        }
        true
    }

    fn subtract(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (index, limb) in self.0.iter_mut().enumerate() {
            let theirs = i64::from(other.0.get(index).copied().unwrap_or(0));
            let mut difference = i64::from(*limb) - theirs - borrow;
            borrow = 0;
            if difference < 0 {
                difference += 1 << 32;
                borrow = 1;
            }
            *limb = difference as u32;
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

/// Exact: the value as the ratio `numerator / denominator`, divided to 65 significant bits plus a
/// sticky bit, then rounded to the f64 format (subnormals included), ties to even.
fn slow(digits: &[u8], exponent: i64) -> Option<f64> {
    let mut numerator = Big::from_digits(digits);
    let mut denominator = Big(vec![1]);
    if exponent >= 0 {
        numerator.multiply_by_power_of_ten(exponent.unsigned_abs());
    } else {
        denominator.multiply_by_power_of_ten(exponent.unsigned_abs());
    }
    // Scale so that the quotient has 65 or 66 bits: value = quotient × 2^-scale (+ a remainder).
    let scale = 65 - (numerator.bits() as i64 - denominator.bits() as i64);
    let (mut remainder, divisor) = if scale >= 0 {
        (numerator.shifted_left(scale as u64), denominator)
    } else {
        (numerator, denominator.shifted_left(scale.unsigned_abs()))
    };
    let mut quotient: u128 = 0;
    for bit in (0..=66u64).rev() {
        let shifted = divisor.shifted_left(bit);
        if remainder.at_least(&shifted) {
            remainder.subtract(&shifted);
            quotient |= 1 << bit;
        }
    }
    let sticky = !remainder.is_zero();
    let length = 128 - i64::from(quotient.leading_zeros());
    // The value is in [2^e, 2^(e+1)).
    let e = length - 1 - scale;
    if e > 1023 {
        return None;
    }
    // Bits kept: 53 for a normal number, fewer below 2^-1022.
    let kept = if e >= -1022 { 53 } else { 53 - (-1022 - e) };
    if kept < 0 {
        return Some(0.0);
    }
    let dropped = length - kept;
    let mut mantissa = (quotient >> dropped) as u64;
    let half = 1u128 << (dropped - 1);
    let rest = quotient & ((1u128 << dropped) - 1);
    if rest > half || (rest == half && (sticky || mantissa & 1 == 1)) {
        mantissa += 1;
    }
    // value = mantissa × 2^(e - kept + 1); build it from bits, since the exponent may be subnormal.
    let mut exponent_bits = if e >= -1022 { e + 1023 } else { 0 };
    if e >= -1022 && mantissa == 1 << 53 {
        mantissa >>= 1;
        exponent_bits += 1;
    } else if e < -1022 && mantissa == 1 << 52 {
        // Rounded up into the smallest normal number.
        exponent_bits = 1;
    }
    if exponent_bits >= 2047 {
        return None;
    }
    let fraction = mantissa & ((1 << 52) - 1);
    Some(f64::from_bits(((exponent_bits as u64) << 52) | fraction))
}

#[cfg(test)]
mod tests {
    use super::parse_finite;

    fn standard(text: &str) -> Option<f64> {
        text.parse::<f64>().ok().filter(|n| n.is_finite())
    }

    fn same(text: &str) {
        let ours = parse_finite(text);
        let theirs = standard(text);
        assert_eq!(
            ours.map(f64::to_bits),
            theirs.map(f64::to_bits),
            "{text}: {ours:?} vs {theirs:?}"
        );
    }

    #[test]
    fn edge_cases_read_as_str_parse_reads_them() {
        for text in [
            "0",
            "-0",
            "+0",
            "00",
            "0.0",
            ".5",
            "5.",
            "+.5",
            "-5.",
            ".",
            "",
            "+",
            "-",
            "e5",
            "1e",
            "1e+",
            "1e-",
            "1E5",
            "1e05",
            "inf",
            "-inf",
            "infinity",
            "NaN",
            "nan",
            "1_000",
            " 1",
            "1 ",
            "0x10",
            "42",
            "42.50",
            "-42.5",
            "1e22",
            "1e23",
            "123456789012345",
            "1234567890123456",
            "9007199254740992",
            "9007199254740993",
            "9007199254740995",
            "0.1",
            "0.2",
            "0.3",
            "2.2250738585072011e-308",
            "2.2250738585072014e-308",
            "2.2250738585072012e-308",
            "4.9406564584124654e-324",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "5e-324",
            "1e-323",
            "3e-324",
            "1e-400",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1e308",
            "1e309",
            "1e400",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791",
            "0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000049406564584124654",
            "1e1000000000000000000000",
            "1e-1000000000000000000000",
            "0e999999999",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203124",
            "1.00000000000000011102230246251565404236316680908203126",
            "8.98846567431158e307",
            "123.456e-7",
            "7.0e-10",
        ] {
            same(text);
        }
    }

    #[test]
    fn generated_numbers_read_as_str_parse_reads_them() {
        // A small deterministic generator: lengths, digits, points and exponents of every kind.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for _ in 0..300_000 {
            let mut text = String::new();
            match next(3) {
                0 => text.push('-'),
                1 if next(4) == 0 => text.push('+'),
                _ => {}
            }
            let length = match next(4) {
                0 => 1 + next(3),
                1 => 1 + next(17),
                2 => 15 + next(6),
                _ => 1 + next(40),
            };
            let point = next(length + 2);
            for position in 0..length {
                if position == point {
                    text.push('.');
                }
                text.push(char::from(b'0' + next(10) as u8));
            }
            if next(2) == 0 {
                text.push('e');
                if next(2) == 0 {
                    text.push('-');
                }
                let exponent = match next(3) {
                    0 => next(25),
                    1 => next(330),
                    _ => 280 + next(60),
                };
                text.push_str(&exponent.to_string());
            }
            same(&text);
        }
    }
}
