# sequnet: data -> training -> conversion -> samples.
#   make data     Bach chorales -> piano audio -> data/{train,valid,test}.u8 (+ test WAVs)
#   make parity   PyTorch reference-format models vs the golden fixtures
#   make train    both models, in the foreground, up to TRAIN_MINUTES of wall time each
#                 (resumes from models/training/NAME.pt; run both at once with make -j2 train)
#   make models   data -> train -> convert to safetensors -> samples
#   make music-parity  the PyTorch music models (tools/music_models.py) vs the symbolic golden
#                 fixtures, and the piano-roll text files vs the .mat files
#   make train-music   the paper's four polyphonic-music runs, one after the other, one thread,
#                 nice 10 (JSB Seq-U-Net, JSB TCN: MUSIC_JSB_MINUTES each; Nottingham Seq-U-Net,
#                 TCN: MUSIC_NOTTINGHAM_MINUTES each; official recipe, lr MUSIC_LR, up to 100
#                 epochs). Resumable: run it again to go on; a finished run only rewrites its
#                 result. Writes models/training/music/NAME.{best.state.pt,result.json,log.csv}
#                 (console output in NAME.out); make music-curves draws curves.png.
#                 make train-music-lr-search: JSB at lr 3e-4 and 3e-3 too (NAME-lrLR)
#   make lm-parity     the PyTorch Penn Treebank LMs (tools/lm_models.py, tools/ptb_data.py) vs
#                 the symbolic golden fixtures char_{sequnet,tcn}_small: logits, window and
#                 test-set cross-entropy, window sizes, char and word vocabularies
#   make train-lm      the paper's character-level PTB models (5.9M parameters each), one after
#                 the other, one thread, nice 10: Seq-U-Net (E=100, nhid 390, L=4, k=3; windows
#                 397 scoring 325) then TCN (E=100, nhid 600, L=4, k=3; 400/320), official recipe
#                 (batch 16, Adam lr 1e-3, clip 0.4, dropout 0.1/0.1), up to LM_MINUTES of
#                 cumulative wall time each. Resumable anywhere: run it again to go on (raise
#                 LM_MINUTES). Writes models/training/ptb/NAME.{best.state.pt,result.json,log.csv}
#                 (console output in NAME.out); score a state dict with tools/eval_lm.py
# Python is Debian's (python3-torch); music21 from pip (tools/requirements.txt).

PYTHON        ?= /usr/bin/python3
SWIFT_RUN     ?= swift run -c release sequnet
# Training runs in two stages of cumulative wall minutes per model (across resumes), one
# CPU thread each, so the two models get the same budget:
#   stage 1, minutes 0 to STAGE1_MINUTES: a C=32 Seq-U-Net and the WaveNet, lr 1e-3, then a
#     cosine decay to 1e-4 from LR_DECAY_FROM on;
#   stage 2, up to TRAIN_MINUTES: the Seq-U-Net widened to SEQUNET_FEATURES channels
#     (tools/grow_sequnet.py: same function, fresh channels), lr warmed up to 3e-4 and decayed
#     to 3e-5; the WaveNet goes on from 1e-4 down to 3e-5.
# (The bundled models' stage 1 first ran to 220 with its decay ending there, then was resumed
# with 340: see models/README.md.)
STAGE1_MINUTES ?= 340
LR_DECAY_FROM  ?= 160
TRAIN_MINUTES  ?= 470
SECONDS_OUT   ?= 4
TEMPERATURE   ?= 1.0
# a cooler setting for a second set of continuations; scripts/temperature_sweep.sh
# measured how much hiss each temperature leaves (models/scores/temperature-sweep.txt)
COOL_TEMPERATURE ?= 0.85
SEED          ?= 1
# first test piece (sorted) as the prompt source; 2 s of it primes the models
PROMPT_PIECE  ?= $(firstword $(sort $(wildcard data/test_wav/*.wav)))

# C=48 runs 6.4x real time in the engine, C=64 only 3.6x (sequnet bench --arch, under load).
# train.py resumes with the checkpoint's own config whatever these flags say.
SEQUNET_FEATURES ?= 48
SEQUNET_ARGS := --model sequnet --levels 10 --depth 1 --kernel-size 5
WAVENET_ARGS := --model wavenet --layers 13 --blocks 1 --residual-channels 64 --dilation-channels 64 --skip-channels 128
# the state dict does not record WaveNet's layers per block; convert stores it
WAVENET_LAYERS := 13
TRAIN_COMMON := --T 16384 --batch 1
STAGE1 := $(TRAIN_COMMON) --lr 1e-3 --lr-decay-from $(LR_DECAY_FROM) --lr-end 1e-4 --max-minutes $(STAGE1_MINUTES)
STAGE2 := $(TRAIN_COMMON) --lr-decay-from $(STAGE1_MINUTES) --lr-end 3e-5 --max-minutes $(TRAIN_MINUTES)
TRAINING := models/training

.PHONY: temperature-sweep score all data parity train train-sequnet train-wavenet baselines curves convert samples models clean-samples
.PHONY: music-parity train-music music-curves train-music-lr-search
all: models

data: data/manifest.json
data/manifest.json: tools/make_dataset.py tools/mulaw.py
	$(PYTHON) tools/make_dataset.py --out data --jobs 2

parity:
	$(PYTHON) tools/test_parity.py

.PHONY: lm-parity train-lm
lm-parity:
	$(PYTHON) tools/test_lm_parity.py

# cumulative wall minutes per character LM (across resumes)
LM_MINUTES ?= 45
LM_TRAINING := models/training/ptb
train-lm:
	mkdir -p $(LM_TRAINING)
	nice -n 10 $(PYTHON) tools/train_lm.py --family sequnet --max-minutes $(LM_MINUTES) >> $(LM_TRAINING)/char-sequnet.out 2>&1
	nice -n 10 $(PYTHON) tools/train_lm.py --family tcn --max-minutes $(LM_MINUTES) >> $(LM_TRAINING)/char-tcn.out 2>&1

train: train-sequnet train-wavenet
# each train.py call is a no-op once its stage's minutes are used up
train-sequnet: data/manifest.json
	nice -n 10 $(PYTHON) tools/train.py --name sequnet-piano-c32 $(SEQUNET_ARGS) --features 32 $(STAGE1)
	test -e $(TRAINING)/sequnet-piano.pt || { \
	  $(PYTHON) tools/grow_sequnet.py $(TRAINING)/sequnet-piano-c32.pt $(TRAINING)/sequnet-piano.pt \
	    --features $(SEQUNET_FEATURES) && \
	  cp $(TRAINING)/sequnet-piano-c32.log.csv $(TRAINING)/sequnet-piano.log.csv; }
	nice -n 10 $(PYTHON) tools/train.py --name sequnet-piano $(SEQUNET_ARGS) --features $(SEQUNET_FEATURES) \
	  $(STAGE2) --lr 3e-4 --lr-warmup-steps 500
train-wavenet: data/manifest.json
	nice -n 10 $(PYTHON) tools/train.py --name wavenet-piano $(WAVENET_ARGS) $(STAGE1)
	nice -n 10 $(PYTHON) tools/train.py --name wavenet-piano $(WAVENET_ARGS) $(STAGE2) --lr 1e-4

# --- Polyphonic music (issue #16): the paper's JSB Chorales and Nottingham rows in PyTorch ---
MUSIC             := models/training/music
MUSIC_LR          ?= 1e-3
MUSIC_JSB_MINUTES ?= 15
MUSIC_NOTTINGHAM_MINUTES ?= 40
# $(call music_run,DATA,FAMILY,MINUTES[,LR,NAME]): one run (lr MUSIC_LR and name DATA-FAMILY
# unless given), console output appended to NAME.out
music_name = $(if $(5),$(5),$(1)-$(2))
music_run = mkdir -p $(MUSIC) && echo "training $(music_name) (log: $(MUSIC)/$(music_name).out)" && \
  nice -n 10 $(PYTHON) tools/train_music.py --data $(1) --family $(2) --name $(music_name) \
    --lr $(if $(4),$(4),$(MUSIC_LR)) --max-minutes $(3) >> $(MUSIC)/$(music_name).out 2>&1 || \
    { tail -n 20 $(MUSIC)/$(music_name).out; exit 1; }

music-parity:
	$(PYTHON) tools/test_music_parity.py
train-music:
	$(call music_run,jsb,sequnet,$(MUSIC_JSB_MINUTES))
	$(call music_run,jsb,tcn,$(MUSIC_JSB_MINUTES))
	$(call music_run,nottingham,sequnet,$(MUSIC_NOTTINGHAM_MINUTES))
	$(call music_run,nottingham,tcn,$(MUSIC_NOTTINGHAM_MINUTES))
	$(PYTHON) tools/plot_music_curves.py
music-curves:
	$(PYTHON) tools/plot_music_curves.py
# the small learning-rate search on JSB (lr 1e-3 is the train-music runs): pick by VALIDATION NLL
train-music-lr-search:
	$(foreach f,sequnet tcn,$(foreach lr,3e-4 3e-3,$(call music_run,jsb,$(f),$(MUSIC_JSB_MINUTES),$(lr),jsb-$(f)-lr$(lr)) &&)) true
	$(PYTHON) tools/plot_music_curves.py jsb-sequnet jsb-sequnet-lr3e-4 jsb-sequnet-lr3e-3 \
	  jsb-tcn jsb-tcn-lr3e-4 jsb-tcn-lr3e-3 -o $(MUSIC)/curves-jsb-lr.png

baselines: data/manifest.json
	$(PYTHON) tools/baselines.py
curves:
	$(PYTHON) tools/plot_curves.py

models/sequnet-piano.safetensors: models/training/sequnet-piano.pt
	$(SWIFT_RUN) convert $< $@
models/wavenet-piano.safetensors: models/training/wavenet-piano.pt
	$(SWIFT_RUN) convert --wavenet-layers $(WAVENET_LAYERS) $< $@
# training writes the .pt; if it is missing, train (a no-op once the wall budget is used up)
models/training/sequnet-piano.pt: | data/manifest.json
	$(MAKE) train-sequnet
models/training/wavenet-piano.pt: | data/manifest.json
	$(MAKE) train-wavenet
convert: models/sequnet-piano.safetensors models/wavenet-piano.safetensors

samples/prompt.wav: data/manifest.json
	sox "$(PROMPT_PIECE)" $@ trim 0 2
samples/%-uncond.wav: models/%.safetensors
	$(SWIFT_RUN) generate -m $< --seconds $(SECONDS_OUT) --temperature $(TEMPERATURE) --seed $(SEED) -o $@
# continue samples/prompt.wav; the temperature follows
CONTINUE_PROMPT = $(SWIFT_RUN) generate -m $< --prompt samples/prompt.wav --seconds $(SECONDS_OUT) --seed $(SEED) -o $@ --temperature
samples/%-prompted.wav: models/%.safetensors samples/prompt.wav
	$(CONTINUE_PROMPT) $(TEMPERATURE)
samples/%-prompted-cool.wav: models/%.safetensors samples/prompt.wav
	$(CONTINUE_PROMPT) $(COOL_TEMPERATURE)
samples: $(foreach m,sequnet-piano wavenet-piano,samples/$(m)-uncond.png samples/$(m)-prompted.png samples/$(m)-prompted-cool.png) samples/prompt.png
# keep the WAVs the spectrograms are drawn from
.SECONDARY:
# spectrograms, drawn by sox
# titled with the sampling temperature, for the generated ones
sample_title = $(1)$(if $(filter %-cool,$(1)), at temperature $(COOL_TEMPERATURE),$(if $(filter %-uncond %-prompted,$(1)), at temperature $(TEMPERATURE)))
samples/%.png: samples/%.wav
	sox $< -n spectrogram -x 900 -y 257 -t "$(call sample_title,$*)" -o $@

# bits/sample of both models on the held-out test pieces (needs both models)
score: convert
	scripts/score_models.sh

# how hissy each model's continuations are at each temperature (spectral flatness)
temperature-sweep: convert
	SEEDS="1 2 3 4" MIN_P="0 0.05" scripts/temperature_sweep.sh 1.0 0.95 0.9 0.85 0.8 0.75 0.7 0.6 0.5

models: data convert baselines curves samples score temperature-sweep

clean-samples:
	rm -f samples/*-uncond.* samples/*-prompted.* samples/*-prompted-cool.* samples/prompt.*

# --- Everyday commands (README) ---------------------------------------------
#   make demo   installs what is missing, builds, writes samples/demo.wav from the default model
#   make test   installs what is missing, runs swift test, the Python reference tests and the
#               browser test of `sequnet serve`
.PHONY: deps test demo
deps:
	scripts/install-deps.sh --tools

test: deps
	swift build --build-tests
	swift test --skip-build --disable-swift-testing
	# the page of `sequnet serve` in headless Chromium: live playback needs the release build
	swift build -c release --product sequnet
	$(PYTHON) tools/test_serve_page.py
	$(PYTHON) tools/test_parity.py
	$(PYTHON) tools/test_torch_stream.py
	$(PYTHON) tools/test_audio_stats.py
	$(PYTHON) tools/test_grow_sequnet.py
	$(PYTHON) tools/test_bits_by_onset.py
	$(PYTHON) tools/test_train.py
	$(PYTHON) tools/test_one_step_hiss.py
	$(PYTHON) tools/test_music_parity.py
	$(PYTHON) tools/test_train_music.py
	$(PYTHON) tools/test_lm_parity.py
	$(PYTHON) tools/test_train_lm.py

demo:
	scripts/install-deps.sh
	swift build -c release
	.build/release/sequnet generate --seconds 4 --seed 1 -o samples/demo.wav
	@echo "wrote samples/demo.wav"
