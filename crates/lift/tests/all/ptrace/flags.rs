//! The flags the architecture leaves *undefined* after an instruction (Intel
//! SDM vol. 2, each instruction's "Flags Affected"). The lock-step compare
//! masks them, then copies the native flags into the interpreter so an
//! undefined flag never propagates into a later compare.

use iced_x86::{Instruction, Mnemonic, OpKind, Register};
use recompiler_lift::cpu::flags::{AF, CF, OF, PF, SF, ZF};

/// The undefined status flags of `insn`; `reg` gives a register's value
/// before the instruction (for shift counts).
pub fn undefined(insn: &Instruction, reg: impl Fn(Register) -> u64) -> u64 {
    use Mnemonic as M;
    let size = match insn.op0_kind() {
        OpKind::Register => insn.op0_register().size() as u32,
        OpKind::Memory => insn.memory_size().size() as u32,
        _ => 8,
    };
    // The shift or rotate count as the CPU masks it (to 5 bits, 6 for
    // 64-bit operands), for the forms with a count operand.
    let count = |n: u32| -> u64 {
        let raw = match insn.op_kind(n) {
            OpKind::Register => reg(insn.op_register(n)),
            _ => insn.immediate(n),
        };
        raw & if size == 8 { 0x3f } else { 0x1f }
    };
    match insn.mnemonic() {
        // Logic: CF = OF = 0, SF ZF PF from the result; AF undefined.
        M::And | M::Or | M::Xor | M::Test => AF,
        // Shifts: no flag changes for a count of 0; AF undefined otherwise,
        // OF defined only for a count of 1.
        M::Shl | M::Sal | M::Shr | M::Sar => match count(1) {
            0 => 0,
            1 => AF,
            _ => AF | OF,
        },
        // Rotates touch only CF and OF; OF is defined for a count of 1.
        M::Rol | M::Ror | M::Rcl | M::Rcr if count(1) > 1 => OF,
        // Double shifts: as shifts, and everything undefined for a count
        // larger than the operand.
        M::Shld | M::Shrd => match count(2) {
            0 => 0,
            1 => AF,
            c if c > size as u64 * 8 => CF | OF | SF | ZF | AF | PF,
            _ => AF | OF,
        },
        // Multiplies: CF and OF say whether the high half is significant.
        M::Mul | M::Imul => SF | ZF | AF | PF,
        M::Div | M::Idiv => CF | OF | SF | ZF | AF | PF,
        // ZF says whether the source was zero.
        M::Bsf | M::Bsr => CF | OF | SF | AF | PF,
        // CF is the selected bit; ZF unaffected.
        M::Bt | M::Bts | M::Btr | M::Btc => OF | SF | AF | PF,
        // ZF for a zero result, CF for a zero source.
        M::Tzcnt | M::Lzcnt => OF | SF | AF | PF,
        _ => 0,
    }
}

/// Names of the flags in `f`, for reports.
pub fn names(f: u64) -> String {
    use recompiler_lift::cpu::flags::DF;
    let mut out = Vec::new();
    for (bit, name) in [
        (CF, "CF"),
        (PF, "PF"),
        (AF, "AF"),
        (ZF, "ZF"),
        (SF, "SF"),
        (OF, "OF"),
        (DF, "DF"),
    ] {
        if f & bit != 0 {
            out.push(name);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use iced_x86::{Decoder, DecoderOptions};

    fn decode(bytes: &[u8]) -> Instruction {
        Decoder::with_ip(64, bytes, 0x1000, DecoderOptions::NONE).decode()
    }

    #[test]
    fn shift_by_one_forms_have_a_defined_of() {
        // d1 e0 = shl eax,1 (the count is implicit in the encoding).
        assert_eq!(undefined(&decode(&[0xd1, 0xe0]), |_| 0), AF);
        // c1 e0 05 = shl eax,5.
        assert_eq!(undefined(&decode(&[0xc1, 0xe0, 0x05]), |_| 0), AF | OF);
        // d3 e0 = shl eax,cl: the count comes from cl, masked to 5 bits.
        let shl_cl = decode(&[0xd3, 0xe0]);
        assert_eq!(undefined(&shl_cl, |_| 0x20), 0);
        assert_eq!(undefined(&shl_cl, |_| 1), AF);
        assert_eq!(undefined(&shl_cl, |_| 3), AF | OF);
        // 48 d3 e0 = shl rax,cl: masked to 6 bits.
        assert_eq!(undefined(&decode(&[0x48, 0xd3, 0xe0]), |_| 0x20), AF | OF);
    }

    #[test]
    fn logic_leaves_only_af_undefined() {
        // 31 c0 = xor eax,eax.
        assert_eq!(undefined(&decode(&[0x31, 0xc0]), |_| 0), AF);
        // 01 c0 = add eax,eax: everything defined.
        assert_eq!(undefined(&decode(&[0x01, 0xc0]), |_| 0), 0);
    }
}
