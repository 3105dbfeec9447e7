/* _rdbwriter: the string and hash records of an RDB file, written without touching the data.
 *
 * Why this exists. A background save forks: the child sees the parent's memory
 * copy-on-write, and every page the child writes to is copied. Walking a dict
 * in Python writes to every key and value it meets, because taking a reference
 * increments the object's reference count, which lives in the object's header.
 * A child that serialises a million keys in Python therefore copies nearly the
 * whole dataset. This module reads the keyspace with borrowed references only
 * (PyDict_Next, PyDict_GetItemWithError, PyBytes_AS_STRING), so the pages of the
 * keys and values stay shared with the parent; the only memory the child writes
 * is the output chunk it returns. (The hash of a key, which a dict lookup reads,
 * was cached in the key object when it entered the keyspace: reading it writes
 * nothing either.)
 *
 * What it writes. Exactly what server.persistence.rdb.write_database_python
 * writes for a string value and for a hash (that Python function is the
 * reference; the tests compare the two byte for byte):
 *
 *     [0xFC <deadline: int64 little endian>]   when the key has an expiry
 *     0x00 <key> <value>                       a string
 *     0x04 <key> <pair count> <field> <value> ...   a hash, in its dict order
 *
 * where each string is its length in Redis's length encoding (1, 2, 5 or 9
 * bytes) and its bytes. Any other value (a list, a set, ...) is handed back to
 * Python, one key at a time: those entries take references as any Python code
 * does.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Redis's length encoding (rdbSaveLen): 6-bit, 14-bit, 32-bit or 64-bit big endian. */
static size_t put_length(unsigned char *out, uint64_t n)
{
    if (n < 0x40) {
        out[0] = (unsigned char)n;
        return 1;
    }
    if (n < 0x4000) {
        out[0] = (unsigned char)(0x40 | (n >> 8));
        out[1] = (unsigned char)(n & 0xFF);
        return 2;
    }
    if (n <= 0xFFFFFFFFULL) {
        out[0] = 0x80;
        for (int i = 0; i < 4; i++)
            out[1 + i] = (unsigned char)(n >> (8 * (3 - i)));
        return 5;
    }
    out[0] = 0x81;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (unsigned char)(n >> (8 * (7 - i)));
    return 9;
}

/* The bytes of a string value, borrowed: bytes and bytearray are the server's strings. */
static int string_view(PyObject *obj, const char **data, Py_ssize_t *size)
{
    if (PyBytes_CheckExact(obj)) {
        *data = PyBytes_AS_STRING(obj);
        *size = PyBytes_GET_SIZE(obj);
        return 1;
    }
    if (PyByteArray_CheckExact(obj)) {
        *data = PyByteArray_AS_STRING(obj);
        *size = PyByteArray_GET_SIZE(obj);
        return 1;
    }
    return 0;
}

/* Make room for `need` more bytes in the chunk being built (doubling it). */
static int reserve(PyObject **chunk, Py_ssize_t used, Py_ssize_t need)
{
    Py_ssize_t capacity = PyBytes_GET_SIZE(*chunk);
    if (used + need <= capacity)
        return 0;
    while (capacity < used + need)
        capacity *= 2;
    return _PyBytes_Resize(chunk, capacity);
}

/* Room a hash's record needs (beyond the expiry prefix), or -1 if a field or
 * value is not a string (then Python writes the whole key). */
static Py_ssize_t hash_room(PyObject *hash, Py_ssize_t key_size)
{
    Py_ssize_t room = 1 + 9 + key_size + 9, pos = 0;
    PyObject *field, *value;
    const char *data;
    Py_ssize_t size;
    while (PyDict_Next(hash, &pos, &field, &value)) {
        if (!string_view(field, &data, &size))
            return -1;
        room += 9 + size;
        if (!string_view(value, &data, &size))
            return -1;
        room += 9 + size;
    }
    return room;
}

/* A length-prefixed string (rdbSaveRawString without compression). */
static unsigned char *put_string(unsigned char *out, const char *data, Py_ssize_t size)
{
    out += put_length(out, (uint64_t)size);
    memcpy(out, data, (size_t)size);
    return out + size;
}

/* The 0xFC prefix of a key with a deadline; `*failed` is set on a lookup error. */
static unsigned char *put_deadline(unsigned char *out, PyObject *expires, PyObject *key, int *failed)
{
    PyObject *deadline = PyDict_GetItemWithError(expires, key);
    if (deadline == NULL) {
        *failed = PyErr_Occurred() != NULL;
        return out;
    }
    long long ms = PyLong_AsLongLong(deadline);
    if (ms == -1 && PyErr_Occurred()) {
        *failed = 1;
        return out;
    }
    uint64_t bits = (uint64_t)ms;
    *out++ = 0xFC;  /* RDB_OPCODE_EXPIRETIME_MS, little endian */
    for (int i = 0; i < 8; i++)
        *out++ = (unsigned char)(bits >> (8 * i));
    return out;
}

PyDoc_STRVAR(encode_entries_doc,
"encode_entries(data, expires, pos, budget, hash_type) -> (chunk, pos, key, value)\n\n"
"Serialise the entries of the dict `data` from dict position `pos` while\n"
"they are strings, or hashes (instances of the dict subclass `hash_type`)\n"
"of strings, and `chunk` holds fewer than `budget` bytes. Returns the\n"
"records written, the position to continue from (-1 once the dict is\n"
"exhausted) and the entry that stopped the run because C does not write\n"
"it (key and value; both None otherwise), which the caller serialises\n"
"itself before calling again. `expires` maps keys to deadlines in\n"
"milliseconds. No reference count of the data is changed, except those\n"
"of the returned key and value.");

static PyObject *encode_entries(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *data, *expires, *hash_type;
    Py_ssize_t pos, budget;
    if (!PyArg_ParseTuple(args, "O!O!nnO:encode_entries", &PyDict_Type, &data, &PyDict_Type, &expires,
                          &pos, &budget, &hash_type))
        return NULL;
    if (pos < 0 || budget < 1) {
        PyErr_SetString(PyExc_ValueError, "pos must be >= 0 and budget >= 1");
        return NULL;
    }
    int has_expires = PyDict_GET_SIZE(expires) > 0;
    PyObject *chunk = PyBytes_FromStringAndSize(NULL, budget < 4096 ? 4096 : budget + 64);
    if (chunk == NULL)
        return NULL;
    Py_ssize_t used = 0;
    PyObject *key, *value;
    PyObject *stop_key = Py_None, *stop_value = Py_None;
    int exhausted = 0;
    while (used < budget) {
        if (!PyDict_Next(data, &pos, &key, &value)) {
            exhausted = 1;
            break;
        }
        const char *kdata = NULL, *vdata = NULL;
        Py_ssize_t ksize = 0, vsize = 0, room;
        int is_string = 0;
        if (!string_view(key, &kdata, &ksize))
            room = -1;
        else if (string_view(value, &vdata, &vsize)) {
            is_string = 1;
            room = 1 + 9 + ksize + 9 + vsize;
        } else if ((PyObject *)Py_TYPE(value) == hash_type)
            room = hash_room(value, ksize);
        else
            room = -1;
        if (room < 0) {
            stop_key = key;  /* Python writes this one; the next call continues after it */
            stop_value = value;
            break;
        }
        if (reserve(&chunk, used, 9 + room) < 0)  /* 9: an expiry prefix */
            return NULL;
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(chunk) + used;
        if (has_expires) {
            int failed = 0;
            out = put_deadline(out, expires, key, &failed);
            if (failed) {
                Py_DECREF(chunk);
                return NULL;
            }
        }
        if (is_string) {
            *out++ = 0x00;  /* RDB_TYPE_STRING */
            out = put_string(out, kdata, ksize);
            out = put_string(out, vdata, vsize);
        } else {
            *out++ = 0x04;  /* RDB_TYPE_HASH: the pair count, then field, value, field, value ... */
            out = put_string(out, kdata, ksize);
            out += put_length(out, (uint64_t)PyDict_GET_SIZE(value));
            Py_ssize_t hpos = 0;
            PyObject *field, *fvalue;
            const char *fdata = NULL;
            Py_ssize_t fsize = 0;
            while (PyDict_Next(value, &hpos, &field, &fvalue)) {
                string_view(field, &fdata, &fsize);  /* both checked by hash_room */
                out = put_string(out, fdata, fsize);
                string_view(fvalue, &fdata, &fsize);
                out = put_string(out, fdata, fsize);
            }
        }
        used = (Py_ssize_t)(out - (unsigned char *)PyBytes_AS_STRING(chunk));
    }
    if (_PyBytes_Resize(&chunk, used) < 0)
        return NULL;
    return Py_BuildValue("(NnOO)", chunk, exhausted ? -1 : pos, stop_key, stop_value);
}

/* Redis's CRC-64 (crc64.c: Jones polynomial, reflected, no final XOR), byte at a time.
 * server/persistence/crc64.py is the reference; this is the same loop in C, for the
 * checksum of a whole RDB file, which in Python costs as much as serialising it. */
static uint64_t crc_table[256];

static void make_crc_table(void)
{
    const uint64_t reflected = 0x95AC9329AC4BC9B5ULL;  /* 0xad93d23594c935a9, bits reversed */
    for (int byte = 0; byte < 256; byte++) {
        uint64_t crc = (uint64_t)byte;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ reflected : crc >> 1;
        crc_table[byte] = crc;
    }
}

PyDoc_STRVAR(crc64_doc,
"crc64(crc, data) -> int\n\n"
"Continue the CRC-64 `crc` over the bytes-like `data` (start from 0).");

static PyObject *crc64(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long long crc;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "Ky*:crc64", &crc, &data))
        return NULL;
    const unsigned char *p = data.buf;
    Py_ssize_t n = data.len;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromUnsignedLongLong(crc);
}

static PyMethodDef methods[] = {
    {"encode_entries", encode_entries, METH_VARARGS, encode_entries_doc},
    {"crc64", crc64, METH_VARARGS, crc64_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_rdbwriter",
    .m_doc = "String records of an RDB file, serialised with borrowed references, and its CRC-64 (see the C source).",
    .m_size = -1,  /* no per-module state */
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__rdbwriter(void)
{
    make_crc_table();
    return PyModule_Create(&module);
}
