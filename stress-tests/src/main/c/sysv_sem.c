/* sysv_sem: System V semaphores through semctl's struct semid64_ds, whose layout differs between
 * architectures (x86_64 pads each time with an unused word; arm64 does not): IPC_STAT's fields,
 * SETVAL/GETVAL, semop, IPC_RMID. */
#include "guest.h"
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>

union semun { int val; struct semid_ds *buf; unsigned short *array; };

int main(void) {
    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0640);
    CHECK(id >= 0, "semget(IPC_PRIVATE, 3 semaphores)");
    if (id < 0) return guest_done();
    struct semid_ds ds;
    union semun arg = {.buf = &ds};
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0, "semctl(IPC_STAT)");
    CHECK(ds.sem_nsems == 3, "IPC_STAT: sem_nsems is 3");
    CHECK((ds.sem_perm.mode & 0777) == 0640, "IPC_STAT: sem_perm.mode is 0640");
    long now = (long)time(NULL);
    CHECK(ds.sem_ctime >= now - 60 && ds.sem_ctime <= now + 60, "IPC_STAT: sem_ctime is the creation time");
    CHECK(ds.sem_otime == 0, "IPC_STAT: sem_otime 0 before any semop");
    arg.val = 5;
    CHECK(semctl(id, 1, SETVAL, arg) == 0, "SETVAL 5 on semaphore 1");
    CHECK(semctl(id, 1, GETVAL) == 5, "GETVAL reads 5");
    struct sembuf op = {1, -2, 0};
    CHECK(semop(id, &op, 1) == 0, "semop -2");
    CHECK(semctl(id, 1, GETVAL) == 3, "GETVAL reads 3 after semop");
    arg.buf = &ds;
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0 && ds.sem_otime >= now - 60, "IPC_STAT: sem_otime set by semop");
    ds.sem_perm.mode = 0600;
    CHECK(semctl(id, 0, IPC_SET, arg) == 0, "IPC_SET mode 0600");
    CHECK(semctl(id, 0, IPC_STAT, arg) == 0 && (ds.sem_perm.mode & 0777) == 0600 && ds.sem_nsems == 3,
          "IPC_STAT after IPC_SET: mode 0600, still 3 semaphores");
    CHECK(semctl(id, 0, IPC_RMID) == 0, "IPC_RMID");
    return guest_done();
}
