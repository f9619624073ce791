#include <stdio.h>
#include <locale.h>
#include <sys/ioctl.h>
#include <histedit.h>
#include <editline/readline.h>

// el_set and history are C variadic functions, which Swift cannot call; these fixed-signature
// wrappers are the only calls TLRepl makes through them.

/// An editor on the process's standard streams (Swift 6 cannot name the stdio globals).
static inline EditLine *tlsh_el_init(const char *program) { return el_init(program, stdin, stdout, stderr); }
static inline void tlsh_flush_stdout(void) { fflush(stdout); }

typedef char *(*tlsh_prompt_fn)(EditLine *);
typedef unsigned char (*tlsh_key_fn)(EditLine *, int);
typedef int (*tlsh_getc_fn)(EditLine *, wchar_t *);

static inline int tlsh_el_set_prompt(EditLine *el, tlsh_prompt_fn fn, char ignore) {
    return el_set(el, EL_PROMPT_ESC, fn, ignore);
}
static inline int tlsh_el_set_editor(EditLine *el, const char *mode) { return el_set(el, EL_EDITOR, mode); }
static inline int tlsh_el_set_signal(EditLine *el, int on) { return el_set(el, EL_SIGNAL, on); }
static inline int tlsh_el_set_getc(EditLine *el, tlsh_getc_fn fn) { return el_set(el, EL_GETCFN, fn); }
static inline int tlsh_el_set_history(EditLine *el, History *h) { return el_set(el, EL_HIST, history, h); }
static inline int tlsh_el_add_function(EditLine *el, const char *name, const char *help, tlsh_key_fn fn) {
    return el_set(el, EL_ADDFN, name, help, fn);
}
static inline int tlsh_el_bind(EditLine *el, const char *key, const char *command) {
    return el_set(el, EL_BIND, key, command, (const char *)NULL);
}

static inline int tlsh_history_set_size(History *h, int size) { HistEvent ev; return history(h, &ev, H_SETSIZE, size); }
static inline int tlsh_history_set_unique(History *h, int on) { HistEvent ev; return history(h, &ev, H_SETUNIQUE, on); }
static inline int tlsh_history_enter(History *h, const char *line) { HistEvent ev; return history(h, &ev, H_ENTER, line); }

/// Columns of the terminal on `fd`, or 0 when it is not a terminal or does not say.
static inline int tlsh_terminal_columns(int fd) {
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0) return ws.ws_col;
    return 0;
}
