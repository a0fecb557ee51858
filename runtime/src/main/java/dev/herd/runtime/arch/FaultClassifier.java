package dev.herd.runtime.arch;

import dev.herd.memory.GuestAddressSpace;
import dev.herd.threads.GuestFault;
import dev.herd.unicorn.Unicorn;

/** An architecture's rules for turning a CPU fault of a guest thread into the signal Linux raises. */
public interface FaultClassifier {
    /**
     * @param engine the faulting thread's engine, stopped at the fault (for registers the
     *               architecture's rules read, e.g. x87 status on x86_64)
     */
    FaultReport classify(GuestFault fault, GuestAddressSpace addressSpace, Unicorn engine);
}
