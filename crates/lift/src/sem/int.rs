//! Integer instructions: data movement, arithmetic and logic, shifts, bit
//! operations, conditional moves and sets, stack and control transfer.

use iced_x86::{Mnemonic, OpKind};

use super::{BinOp, FlagOp, Handler, M, Sem, UnOp, op_size, pop, push, read, write};
use crate::interp::Exit;

pub fn handler<S: Sem>(m: Mnemonic) -> Option<Handler<S>> {
    Some(match m {
        M::Mov => mov::<S>,
        M::Movzx => movzx::<S>,
        M::Movsx | M::Movsxd => movsx::<S>,
        M::Lea => lea::<S>,
        M::Add => |s| alu(s, BinOp::Add, FlagOp::Add, true),
        M::Adc => |s| alu(s, BinOp::Adc, FlagOp::Adc, true),
        M::Sub => |s| alu(s, BinOp::Sub, FlagOp::Sub, true),
        M::Sbb => |s| alu(s, BinOp::Sbb, FlagOp::Sbb, true),
        M::And => |s| alu(s, BinOp::And, FlagOp::Logic, true),
        M::Or => |s| alu(s, BinOp::Or, FlagOp::Logic, true),
        M::Xor => |s| alu(s, BinOp::Xor, FlagOp::Logic, true),
        M::Cmp => |s| alu(s, BinOp::Sub, FlagOp::Sub, false),
        M::Test => |s| alu(s, BinOp::And, FlagOp::Logic, false),
        M::Inc => |s| incdec(s, BinOp::Add, FlagOp::Inc),
        M::Dec => |s| incdec(s, BinOp::Sub, FlagOp::Dec),
        M::Push => push_op::<S>,
        M::Pop => pop_op::<S>,
        M::Call => call::<S>,
        M::Ret => ret::<S>,
        M::Jmp => jmp::<S>,
        M::Ja
        | M::Jae
        | M::Jb
        | M::Jbe
        | M::Je
        | M::Jne
        | M::Jg
        | M::Jge
        | M::Jl
        | M::Jle
        | M::Jo
        | M::Jno
        | M::Jp
        | M::Jnp
        | M::Js
        | M::Jns => jcc::<S>,
        M::Nop => |_| Ok(()),
        _ => return None,
    })
}

fn mov<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let v = read(s, 1)?;
    write(s, 0, v)
}

fn movzx<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let v = read(s, 1)?;
    write(s, 0, v)
}

fn movsx<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    let v = read(s, 1)?;
    let v = s.un(UnOp::Sext, op_size(&insn, 1), v);
    write(s, 0, v)
}

fn lea<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    if insn.op_kind(1) != OpKind::Memory {
        return Err(Exit::Illegal);
    }
    // lea ignores segment bases; ea() adds fs/gs only with a prefix, which
    // lea does not honour either.
    let a = super::ea(s)?;
    write(s, 0, a)
}

fn alu<S: Sem>(s: &mut S, op: BinOp, f: FlagOp, store: bool) -> Result<(), Exit> {
    let insn = *s.insn();
    let size = op_size(&insn, 0);
    let a = read(s, 0)?;
    let b = read(s, 1)?;
    // An immediate narrower than the destination is sign-extended to it.
    let b = if op_size(&insn, 1) < size {
        let x = s.un(UnOp::Sext, op_size(&insn, 1), b);
        let m = s.imm(super::mask(size));
        s.bin(BinOp::And, 8, x, m)
    } else {
        b
    };
    let r = s.bin(op, size, a, b);
    if store {
        write(s, 0, r)?;
    }
    s.flags(f, size, a, b, r);
    Ok(())
}

fn incdec<S: Sem>(s: &mut S, op: BinOp, f: FlagOp) -> Result<(), Exit> {
    let insn = *s.insn();
    let size = op_size(&insn, 0);
    let a = read(s, 0)?;
    let one = s.imm(1);
    let r = s.bin(op, size, a, one);
    write(s, 0, r)?;
    s.flags(f, size, a, one, r);
    Ok(())
}

fn push_op<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    let size = insn.stack_pointer_increment().unsigned_abs();
    let v = read(s, 0)?;
    let v = if op_size(&insn, 0) < size {
        let x = s.un(UnOp::Sext, op_size(&insn, 0), v);
        let m = s.imm(super::mask(size));
        s.bin(BinOp::And, 8, x, m)
    } else {
        v
    };
    push(s, size, v)
}

fn pop_op<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    let size = op_size(&insn, 0);
    let v = pop(s, size)?;
    write(s, 0, v)
}

fn call<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    let target = read(s, 0)?;
    let ret = s.imm(insn.next_ip());
    push(s, 8, ret)?;
    s.jump(target);
    Ok(())
}

fn ret<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    let target = pop(s, 8)?;
    if insn.op_count() == 1 {
        let sp = s.get(iced_x86::Register::RSP);
        let k = s.imm(insn.immediate16() as u64);
        let nsp = s.bin(BinOp::Add, 8, sp, k);
        s.set(iced_x86::Register::RSP, nsp);
    }
    s.jump(target);
    Ok(())
}

fn jmp<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let target = read(s, 0)?;
    s.jump(target);
    Ok(())
}

fn jcc<S: Sem>(s: &mut S) -> Result<(), Exit> {
    let insn = *s.insn();
    let c = s.cond(insn.condition_code());
    let taken = s.imm(insn.near_branch_target());
    let fall = s.imm(insn.next_ip());
    let t = s.select(c, taken, fall);
    s.jump(t);
    Ok(())
}
