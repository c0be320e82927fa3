// fastbp: fast backpropagation for multilayer perceptrons on the CPU. Include this one header.
#pragma once

#include "fastbp/activation.hpp"
#include "fastbp/cpu.hpp"
#include "fastbp/data_parallel.hpp"
#include "fastbp/dense.hpp"
#include "fastbp/errors.hpp"
#include "fastbp/network.hpp"
#include "fastbp/objective.hpp"
#include "fastbp/optimizer.hpp"
#include "fastbp/precision.hpp"
#include "fastbp/predictor.hpp"
#include "fastbp/threading.hpp"
#include "fastbp/version.hpp"
