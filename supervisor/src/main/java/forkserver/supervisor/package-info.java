/**
 * The top layer: {@link forkserver.supervisor.Main} (the command line: picocli parses the
 * {@code Options} into a {@link forkserver.supervisor.Config}; {@code ProcessSettings}, what the
 * supervisor does to its own process) and
 * {@link forkserver.supervisor.Supervisor} (the loop: accept, admit, hand to a spare or spawn,
 * refuse), which alone may use every package below. The layers, bottom first: {@code base}
 * (plain values); {@code log}; the stages {@code listen}, {@code admit}, {@code spawn},
 * {@code systemd}, {@code metrics}; {@code proxy} and the child registry {@code reap}; {@code spares};
 * this package. A package uses only those below it: {@code PackageLayersTest} checks it on the
 * compiled classes. See docs/architecture.md.
 */
package forkserver.supervisor;
