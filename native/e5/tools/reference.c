/* Reference embeddings for tests/fixtures/e5_reference.json.
 *
 * Build it without any SIMD flags, so that every product runs on the
 * engine's portable scalar path (the upstream arithmetic):
 *
 *   gcc -O2 -std=gnu11 -I native/e5 -o /tmp/e5ref \
 *       native/e5/tools/reference.c native/e5/e5.c -lm
 *   /tmp/e5ref models/e5/e5-small-q4.bin texts.tsv > tests/fixtures/e5_reference.json
 *
 * texts.tsv: one text per line, "query<TAB>text" or "passage<TAB>text". */
#include "e5.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s model.bin texts.tsv\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    FILE *f = fopen(argv[2], "r");
    if (!f) { perror(argv[2]); return 1; }
    int dim = e5_dim(m), first = 1;
    float *v = malloc(sizeof(float) * (size_t)dim);
    static char line[1 << 20];
    printf("[\n");
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        int is_query = strcmp(line, "query") == 0;
        if (e5_embed(m, tab + 1, is_query, v) != 0) { fprintf(stderr, "embedding failed\n"); return 1; }
        printf("%s  {\"role\": \"%s\", \"text\": ", first ? "" : ",\n", is_query ? "query" : "passage");
        json_string(tab + 1);
        printf(", \"vector\": [");
        for (int i = 0; i < dim; i++) printf("%s%.7g", i ? ", " : "", v[i]);
        printf("]}");
        first = 0;
    }
    printf("\n]\n");
    free(v); fclose(f); e5_free(m);
    return 0;
}
