package dev.herd.runtime.launch;

import dev.herd.memory.GuestMemory;
import dev.herd.signals.AltStack;
import dev.herd.signals.SigInfo;
import dev.herd.signals.SignalAction;
import dev.herd.signals.SignalFrames;
import dev.herd.unicorn.Unicorn;
import dev.herd.unicorn.x86_64.X86Reg;

/**
 * Placeholder until the x86_64 frame builder lands: handler delivery fails loudly (an internal
 * error, never a wrong frame); syscall restarts already work.
 */
enum InterimFrames implements SignalFrames {
    INSTANCE;

    @Override
    public void setupFrame(Unicorn engine, GuestMemory memory, SignalAction action, SigInfo info, long savedMask,
                           AltStack altStack) {
        throw new UnsupportedOperationException("signal handler frames are not implemented yet");
    }

    @Override
    public long restoreFrame(Unicorn engine, GuestMemory memory, AltStack altStack) {
        throw new UnsupportedOperationException("rt_sigreturn is not implemented yet");
    }

    @Override
    public void restartSyscall(Unicorn engine, long nr) {
        engine.regWrite(X86Reg.RIP, engine.regRead(X86Reg.RIP) - 2);
        engine.regWrite(X86Reg.RAX, nr);
    }
}
