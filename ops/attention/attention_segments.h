/* Causal self-attention over a packed sequence of segments that share a prefix.
 * Rows [0, P) are a shared prefix (causal among themselves); the remaining rows are n_seg
 * segments, segment s occupying rows [seg[s], seg[s+1]) with seg[0] = P, seg[n_seg] = R.
 * A segment row attends to every prefix row and to its own segment's rows up to itself, so
 * the result equals plain causal attention run separately on each (prefix + segment s)
 * sequence, while the prefix is computed once. With P = 0 it is block-diagonal causal
 * attention (independent sequences of different lengths packed together).
 * qkv [R,3C] (q | k | v), out [R,C], att [NH, R, Tk] probabilities with Tk =
 * cd_segments_max_keys(): entry j < P is prefix key j, entry P + u is segment row seg[s]+u.
 * copies: that many independent sets of R rows one after the other (runs in lockstep: qkv,
 * out and dqkv copy k from row k * R, att from k * NH * R * Tk), all given to the pool at once;
 * each copy's result is the same bits as a call for it alone. */
#ifndef CD_ATTENTION_SEGMENTS_H
#define CD_ATTENTION_SEGMENTS_H

int cd_segments_max_keys(int P, int n_seg, const int *seg);
void cd_attention_forward_segments(float *out, float *att, const float *qkv, int R, int P,
                                   int n_seg, const int *seg, int C, int NH, int copies);
/* dqkv += gradient (accumulates, like ops.h backward functions). */
void cd_attention_backward_segments(float *dqkv, const float *dout, const float *qkv,
                                    const float *att, int R, int P, int n_seg, const int *seg,
                                    int C, int NH, int copies);

/* The reference (ops/attention/attention_segments_ref.c): one copy, the plain loops, whose
 * order of every sum the kernels keep (the same bits). */
void cd_attention_forward_segments_ref(float *out, float *att, const float *qkv, int R, int P, int n_seg,
                                       const int *seg, int C, int NH);
void cd_attention_backward_segments_ref(float *dqkv, const float *dout, const float *qkv, const float *att,
                                        int R, int P, int n_seg, const int *seg, int C, int NH);

#endif
