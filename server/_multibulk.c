/* _multibulk: cutting a read into the requests it holds, and writing arrays of bulk strings, in C.
 *
 * Why this exists. Every read a client sends passes through the request
 * parser, and on unpipelined traffic the parser's fixed cost per read is a
 * large part of a request's time. Client libraries send requests as
 * multibulks of bulk strings with canonical lengths, whole, so this module
 * reads exactly those, at C speed, and leaves everything else to the Python
 * parser (server/protocol.py: RequestParser._parse, the reference, which
 * follows Redis's processMultibulkBuffer and produces its error texts).
 *
 * split(data, authenticated, max_bulk_len) reads complete requests from the
 * start of data and returns (frames, used): the requests as lists of bytes
 * and how many bytes they took. It stops, without judging, at the first
 * thing that is not a complete, non-empty multibulk of bulk strings with
 * canonical decimal lengths inside the limits: an inline request, a request
 * cut by the end of the read, *0 or *-1, a length with a sign or a leading
 * zero, any other type byte, an unauthenticated client's eleventh argument or
 * 16 KB bulk, a bulk over proto-max-bulk-len. The Python parser reads on from
 * there, so behaviour is the reference's by construction; the tests feed
 * both the same random streams cut at random points.
 *
 * Safety. A multibulk's list is allocated only when the read holds enough
 * bytes for all its arguments (six at least each: "$0\r\n\r\n"), so a header
 * such as *2000000000 costs nothing here; the Python parser then reads such a
 * request argument by argument as the bytes arrive.
 *
 * authenticated is a bool or a callable returning one; it is asked only when
 * a request goes past the unauthenticated limits (RequestParser.authenticated).
 *
 * encode_bulks(items, resp3) is the other direction: the reply of an array of
 * bulk strings (LRANGE, MGET, ZRANGE, KEYS ...), a multibulk reply in Redis's
 * words, written in one pass. Encoding it element by element in Python costs
 * two calls and three list appends per element, which made a 100-element
 * LRANGE several times dearer than the request around it. It takes only what
 * it can write exactly as protocol.encode would: bytes (not a subclass such as
 * Status) and None (a null); for anything else it returns None and the caller
 * encodes generically.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define UNAUTH_MAX_ARGS 10
#define UNAUTH_MAX_BULK 16384
#define MIN_BULK_SIZE 6 /* "$0\r\n\r\n" */

/* A length written as Redis's clients write it: "0", or digits without a leading zero, at most
 * ten of them. -1 for anything else (the Python parser decides what Redis makes of it). */
static long long canonical_length(const char *p, Py_ssize_t len)
{
    if (len < 1 || len > 10)
        return -1;
    if (p[0] == '0')
        return len == 1 ? 0 : -1;
    long long value = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        value = value * 10 + (p[i] - '0');
    }
    return value;
}

/* 1 if the client has logged in, 0 if not, -1 on an exception from the callable. */
static int is_authenticated(PyObject *authenticated)
{
    if (!PyCallable_Check(authenticated))
        return PyObject_IsTrue(authenticated);
    PyObject *answer = PyObject_CallNoArgs(authenticated);
    if (answer == NULL)
        return -1;
    int yes = PyObject_IsTrue(answer);
    Py_DECREF(answer);
    return yes;
}

/* The end of the line that starts at pos (its '\r'), if the byte after it has arrived too. */
static const char *line_end(const char *buf, Py_ssize_t pos, Py_ssize_t n)
{
    const char *cr = memchr(buf + pos, '\r', (size_t)(n - pos));
    if (cr == NULL || cr - buf > n - 2)
        return NULL;
    return cr;
}

PyDoc_STRVAR(split_doc,
"split(data, authenticated, max_bulk_len) -> (frames, used)\n\n"
"The complete canonical multibulk requests at the start of data, and the bytes they took.");

static PyObject *split(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* (METH_FASTCALL, arguments read by hand: PyArg_ParseTuple cost more than the cutting) */
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "split() takes 3 arguments");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *authenticated = args[1];
    long long max_bulk = PyLong_AsLongLong(args[2]);
    if (max_bulk == -1 && PyErr_Occurred()) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const char *buf = view.buf;
    Py_ssize_t n = view.len;
    Py_ssize_t pos = 0;
    int auth = -2; /* not asked yet */
    PyObject *frames = PyList_New(0);
    if (frames == NULL)
        goto fail;
    while (pos < n && buf[pos] == '*') {
        const char *cr = line_end(buf, pos, n);
        if (cr == NULL)
            break;
        long long count = canonical_length(buf + pos + 1, cr - buf - pos - 1);
        if (count <= 0 || count > (n - pos) / MIN_BULK_SIZE)
            break; /* not a plain request, or it cannot be whole in this read */
        if (count > UNAUTH_MAX_ARGS) {
            if (auth == -2 && (auth = is_authenticated(authenticated)) < 0)
                goto fail;
            if (!auth)
                break;
        }
        Py_ssize_t p = cr - buf + 2;
        PyObject *frame = PyList_New((Py_ssize_t)count);
        if (frame == NULL)
            goto fail;
        Py_ssize_t i;
        for (i = 0; i < count; i++) {
            if (p >= n || buf[p] != '$')
                break;
            cr = line_end(buf, p, n);
            if (cr == NULL)
                break;
            long long size = canonical_length(buf + p + 1, cr - buf - p - 1);
            if (size < 0 || size > max_bulk)
                break;
            if (size > UNAUTH_MAX_BULK) {
                if (auth == -2 && (auth = is_authenticated(authenticated)) < 0) {
                    Py_DECREF(frame);
                    goto fail;
                }
                if (!auth)
                    break;
            }
            p = cr - buf + 2;
            if (n - p < size + 2)
                break;
            PyObject *arg = PyBytes_FromStringAndSize(buf + p, (Py_ssize_t)size);
            if (arg == NULL) {
                Py_DECREF(frame);
                goto fail;
            }
            PyList_SET_ITEM(frame, i, arg);
            p += (Py_ssize_t)size + 2; /* Redis skips the two bytes after a bulk unread */
        }
        if (i < count) { /* (a list with empty slots is freed safely) */
            Py_DECREF(frame);
            break;
        }
        int failed = PyList_Append(frames, frame);
        Py_DECREF(frame);
        if (failed)
            goto fail;
        pos = p;
    }
    PyBuffer_Release(&view);
    PyObject *used = PyLong_FromSsize_t(pos);
    PyObject *result = used == NULL ? NULL : PyTuple_New(2);
    if (result == NULL) {
        Py_XDECREF(used);
        Py_DECREF(frames);
        return NULL;
    }
    PyTuple_SET_ITEM(result, 0, frames);
    PyTuple_SET_ITEM(result, 1, used);
    return result;

fail:
    Py_XDECREF(frames);
    PyBuffer_Release(&view);
    return NULL;
}

/* The decimal digits of a non-negative v, written backwards from end; returns where they start. */
static char *digits_before(char *end, Py_ssize_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* "<mark><v>\r\n" at p; returns the position after it. */
static char *write_header(char *p, char mark, Py_ssize_t v)
{
    char digits[24];
    char *end = digits + sizeof(digits);
    char *start = digits_before(end, v);
    *p++ = mark;
    memcpy(p, start, (size_t)(end - start));
    p += end - start;
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* How many decimal digits v has (by writing them where they are not kept). */
static Py_ssize_t decimal_width(Py_ssize_t v)
{
    char digits[24];
    char *end = digits + sizeof(digits);
    return end - digits_before(end, v);
}

PyDoc_STRVAR(encode_bulks_doc,
"encode_bulks(items, resp3) -> bytes | None\n\n"
"The RESP array of items (a list or tuple of bytes and None), or None if an item is anything else.");

static PyObject *encode_bulks(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "encode_bulks() takes 2 arguments");
        return NULL;
    }
    PyObject *seq = args[0];
    if (!PyList_CheckExact(seq) && !PyTuple_CheckExact(seq))
        Py_RETURN_NONE;
    int resp3 = PyObject_IsTrue(args[1]);
    if (resp3 < 0)
        return NULL;
    const char *null = resp3 ? "_\r\n" : "$-1\r\n";
    Py_ssize_t null_size = resp3 ? 3 : 5;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    /* First pass: check every item and add up the size (no Python code runs in between, so the
     * list cannot change under us). */
    Py_ssize_t total = 1 + decimal_width(n) + 2;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        if (item == Py_None) {
            total += null_size;
        } else if (PyBytes_CheckExact(item)) {
            Py_ssize_t size = PyBytes_GET_SIZE(item);
            total += 1 + decimal_width(size) + 2 + size + 2;
        } else {
            Py_RETURN_NONE;
        }
    }
    PyObject *reply = PyBytes_FromStringAndSize(NULL, total);
    if (reply == NULL)
        return NULL;
    char *p = write_header(PyBytes_AS_STRING(reply), '*', n);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = items[i];
        if (item == Py_None) {
            memcpy(p, null, (size_t)null_size);
            p += null_size;
            continue;
        }
        Py_ssize_t size = PyBytes_GET_SIZE(item);
        p = write_header(p, '$', size);
        memcpy(p, PyBytes_AS_STRING(item), (size_t)size);
        p += size;
        *p++ = '\r';
        *p++ = '\n';
    }
    return reply;
}

static PyMethodDef methods[] = {
    {"split", (PyCFunction)(void (*)(void))split, METH_FASTCALL, split_doc},
    {"encode_bulks", (PyCFunction)(void (*)(void))encode_bulks, METH_FASTCALL, encode_bulks_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_multibulk",
    .m_doc = "Multibulks in C: cutting a read into its requests, writing an array of bulks (see the C source).",
    .m_size = -1, /* no per-module state */
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__multibulk(void)
{
    return PyModule_Create(&module);
}
